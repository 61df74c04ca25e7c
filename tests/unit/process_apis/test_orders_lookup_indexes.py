"""The ops lookup (an order by any of its references) reads indexes, not the whole orders table:
SQLite's plan for the statement ``lookup_repository`` runs, on a database at the head revision."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from process_apis.orders import lookup_repository
from tests.unit.process_apis.conftest import Orders


async def test_a_lookup_by_any_reference_scans_neither_the_orders_nor_their_history(orders: Orders) -> None:
    db = orders.app.state.db
    ran: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM orders" in statement:
            ran.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with db.transaction() as session:
            await lookup_repository.find_by_reference(session, reference="SO-00042", limit=20)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    [(statement, parameters)] = ran
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        cursor = await raw.driver_connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)  # type: ignore[union-attr]
        plan = [str(row[3]) for row in await cursor.fetchall()]
    scans = [step for step in plan if step.startswith("SCAN") and "USING" not in step]
    assert scans == [], plan
