"""A WMS database from before stock movements were versioned is brought up in place."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from service_kit.db import Database
from system_apis.wms import schema


async def test_a_database_from_before_movement_seq_is_upgraded_in_place(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'wms.db'}")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE wms_stock (sku VARCHAR(64), warehouse VARCHAR(16), on_hand INTEGER)"))
            await conn.execute(text("INSERT INTO wms_stock VALUES ('X', 'AMS', 4)"))
        assert await schema.upgrade(db) is True
        assert await schema.upgrade(db) is False  # once
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("SELECT movement_seq FROM wms_stock"))).scalar_one() == 0
    finally:
        await db.dispose()
