"""Brings an inventory database made before channel rows were versioned up to the current tables.

``create_all`` adds new tables but not new columns; until the project has versioned migrations
(README roadmap) this adds ``inv_channel_availability.version`` (0 for existing rows), as the WMS
does for its ``movement_seq``.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

from service_kit.db import Database


def _add_channel_version(conn: Connection) -> bool:
    inspector = inspect(conn)
    if not inspector.has_table("inv_channel_availability"):
        return False
    if "version" in {column["name"] for column in inspector.get_columns("inv_channel_availability")}:
        return False
    conn.execute(text("ALTER TABLE inv_channel_availability ADD COLUMN version INTEGER NOT NULL DEFAULT 0"))
    return True


async def upgrade(db: Database) -> bool:
    async with db.engine.begin() as conn:
        return await conn.run_sync(_add_channel_version)


__all__ = ["upgrade"]
