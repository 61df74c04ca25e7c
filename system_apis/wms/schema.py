"""Brings a WMS database made before stock movements were versioned up to the current tables.

``create_all`` adds new tables (the movement journal) but not new columns; until the project has
versioned migrations (README roadmap) this adds ``wms_stock.movement_seq`` (0 for existing rows).
"""

from __future__ import annotations

from service_kit.db import Database, add_missing_columns


async def upgrade(db: Database) -> bool:
    """Adds ``wms_stock.movement_seq`` when missing; True when it did."""
    return bool(
        await add_missing_columns(db=db, table="wms_stock", columns={"movement_seq": "INTEGER NOT NULL DEFAULT 0"})
    )


__all__ = ["upgrade"]
