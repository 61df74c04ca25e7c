"""Brings an inventory database made before channel rows were versioned up to the current tables.

``create_all`` adds new tables but not new columns; until the project has versioned migrations
(README roadmap) this adds ``inv_channel_availability.version`` (0 for existing rows), as the WMS
does for its ``movement_seq``.
"""

from __future__ import annotations

from service_kit.db import Database, add_missing_columns


async def upgrade(db: Database) -> bool:
    """Adds ``inv_channel_availability.version`` when missing; True when it did."""
    return bool(
        await add_missing_columns(
            db=db, table="inv_channel_availability", columns={"version": "INTEGER NOT NULL DEFAULT 0"}
        )
    )


__all__ = ["upgrade"]
