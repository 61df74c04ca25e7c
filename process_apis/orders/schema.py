"""Brings an orders database made by an older version up to the current tables.

Tables are created from the models at start-up (``create_all``), which adds new tables but not
new columns to existing ones. Until the project has versioned migrations (README roadmap), this
adds each missing column, nullable, filled with its default, so a ``var/`` from the first cut
keeps working; an old order still in ``received`` keeps its saga active, others are finished.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, inspect, text

from process_apis.orders.models import Base
from service_kit.db import Database


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return "'" + json.dumps(value).replace("'", "''") + "'"


def _add_missing(conn: Connection) -> list[str]:
    inspector = inspect(conn)
    added: list[str] = []
    for table in Base.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            default: Any = None
            if column.default is not None:
                arg = getattr(column.default, "arg", None)
                default = arg({}) if callable(arg) and column.name == "compensation" else arg
                if callable(default):
                    default = None
            ddl = f"ALTER TABLE {table.name} ADD COLUMN {column.name} {column.type.compile(dialect=conn.dialect)}"
            if default is not None:
                ddl += f" DEFAULT {_literal(default)}"
            conn.execute(text(ddl))
            added.append(f"{table.name}.{column.name}")
        for index in table.indexes:
            index.create(conn, checkfirst=True)
    if "orders.saga_active" in added:
        conn.execute(text("UPDATE orders SET saga_active = CASE WHEN status = 'received' THEN 1 ELSE 0 END"))
    return added


#: Tables of older versions that are gone: ``order_events`` was a second outbox no relay ever sent
#: (its events now go through the kit's outbox, ``event_outbox``); its rows were a record only.
RETIRED_TABLES = ("order_events",)


def _drop_retired(conn: Connection) -> list[str]:
    inspector = inspect(conn)
    dropped = [name for name in RETIRED_TABLES if inspector.has_table(name)]
    for name in dropped:
        conn.execute(text(f"DROP TABLE {name}"))
    return [f"-{name}" for name in dropped]


async def upgrade(db: Database) -> list[str]:
    """Brings the database up to the models: missing columns added, retired tables dropped;
    returns what changed (``-table`` for a dropped one)."""
    async with db.engine.begin() as conn:
        return await conn.run_sync(_add_missing) + await conn.run_sync(_drop_retired)


__all__ = ["upgrade"]
