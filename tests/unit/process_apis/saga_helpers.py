"""Small helpers the saga tests share: submit, read the row, the history, the step log, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from process_apis.orders import repository
from process_apis.orders.flows.worker import process_pending_orders
from process_apis.orders.models import OrderRow
from tests.unit.process_apis.conftest import Orders

LATER = datetime.now(UTC) + timedelta(days=1)


async def submit(orders: Orders, body: dict[str, Any] | None = None, **headers: Any) -> str:
    resp = await orders.submit(body, **headers)
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


async def order_row(orders: Orders, order_id: str) -> OrderRow:
    async with orders.app.state.db.transaction() as session:
        row = await repository.get_order(session, order_id=order_id)
        assert row is not None
        return row


async def history(orders: Orders, order_id: str) -> list[tuple[str | None, str, str | None, str]]:
    async with orders.app.state.db.transaction() as session:
        changes = await repository.status_history(session, order_id=order_id)
    return [(c.from_status, c.to_status, c.reason, c.correlation_id) for c in changes]


async def steps_run(orders: Orders, order_id: str) -> list[tuple[str, str]]:
    async with orders.app.state.db.transaction() as session:
        return [(s.step, s.outcome) for s in await repository.step_log(session, order_id=order_id)]


async def event_types(orders: Orders, order_id: str | None = None) -> list[str]:
    async with orders.app.state.db.transaction() as session:
        return [e.type for e in await repository.events(session, order_id=order_id)]


async def run_until_stopped(orders: Orders, *, passes: int = 20) -> None:
    """Passes with a clock moving a day further each time, so every backoff is over."""
    clock = datetime.now(UTC)
    for _ in range(passes):
        await process_pending_orders(orders.app, now=clock)
        async with orders.app.state.db.transaction() as session:
            rows = await repository.list_orders(session, partner_id=None, limit=1000, offset=0)
        if not any(r.saga_active for r in rows):
            return
        clock += timedelta(days=1)
    raise AssertionError("the saga did not stop")
