"""``add_missing_columns``: the kit's stop-gap that brings a table from an older version up to the
columns the code expects, on a real SQLite file, until versioned migrations arrive."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from service_kit.db import Database, add_missing_columns


async def _columns(db: Database, table: str) -> list[str]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda sync_conn: [c["name"] for c in inspect(sync_conn).get_columns(table)])


async def test_missing_columns_are_added_once_with_their_default_for_existing_rows(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE stock (sku VARCHAR(64) PRIMARY KEY, qty INTEGER, seq INTEGER)"))
            await conn.execute(text("INSERT INTO stock VALUES ('X', 4, 7)"))
        wanted = {"seq": "INTEGER", "version": "INTEGER NOT NULL DEFAULT 0", "note": "VARCHAR(20)"}

        assert await add_missing_columns(db=db, table="stock", columns=wanted) == ["version", "note"]
        assert await add_missing_columns(db=db, table="stock", columns=wanted) == []

        assert await _columns(db, "stock") == ["sku", "qty", "seq", "version", "note"]
        async with db.engine.connect() as conn:
            row = (await conn.execute(text("SELECT qty, seq, version, note FROM stock"))).one()
        assert tuple(row) == (4, 7, 0, None)
    finally:
        await db.dispose()


async def test_a_table_not_made_yet_is_left_to_create_all(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    try:
        assert await add_missing_columns(db=db, table="stock", columns={"version": "INTEGER"}) == []
        async with db.engine.connect() as conn:
            assert not await conn.run_sync(lambda sync_conn: inspect(sync_conn).has_table("stock"))
    finally:
        await db.dispose()
