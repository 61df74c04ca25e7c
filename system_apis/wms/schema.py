"""Brings a WMS database made before stock movements were versioned up to the current tables.

``create_all`` adds new tables (the movement journal) but not new columns; until the project has
versioned migrations (README roadmap) this adds ``wms_stock.movement_seq`` (0 for existing rows).
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

from service_kit.db import Database


def _add_movement_seq(conn: Connection) -> bool:
    inspector = inspect(conn)
    if not inspector.has_table("wms_stock"):
        return False
    if "movement_seq" in {column["name"] for column in inspector.get_columns("wms_stock")}:
        return False
    conn.execute(text("ALTER TABLE wms_stock ADD COLUMN movement_seq INTEGER NOT NULL DEFAULT 0"))
    return True


async def upgrade(db: Database) -> bool:
    async with db.engine.begin() as conn:
        return await conn.run_sync(_add_movement_seq)


__all__ = ["upgrade"]
