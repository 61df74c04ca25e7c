"""GET /v1/orders/{id} is what every channel polls: the order, its lines and its reservations come
from one statement, and no dependency runs in the threadpool."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
import pytest
from sqlalchemy import event

from process_apis.orders.flows.worker import process_pending_orders
from tests.unit.process_apis.conftest import Orders, line, order_body
from tests.unit.process_apis.saga_helpers import submit

ORDER_TABLES = ("orders", "order_lines", "order_reservations")


@contextmanager
def order_selects(orders: Orders) -> Iterator[list[str]]:
    """The SELECTs reading order tables while the block runs (not the workers' other polling)."""
    seen: list[str] = []
    engine = orders.app.state.db.engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        text = statement.lstrip()
        if text.upper().startswith("SELECT") and any(
            f"FROM {t} " in text or f"JOIN {t} " in text for t in ORDER_TABLES
        ):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_an_order_with_split_reservations_is_read_in_one_statement_without_threadpool_work(
    orders: Orders, monkeypatch: pytest.MonkeyPatch
) -> None:
    # WIDGET-BLUE: 100 in AMS, 40 in RTM, so 120 ship from both: two lines times two reservations.
    body = order_body(
        "MP-1", lines=[line("WIDGET-BLUE", "120"), line("CABLE-USB-C", "3")], split_shipments_allowed=True
    )
    order_id = await submit(orders, body)
    await process_pending_orders(orders.app)
    offloaded: list[object] = []
    run_sync = anyio.to_thread.run_sync

    async def spy(func: Any, *args: Any, **kwargs: Any) -> Any:
        offloaded.append(func)
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", spy)

    with order_selects(orders) as selects:
        resp = await orders.get(order_id)

    assert resp.status_code == 200, resp.text
    order = resp.json()
    assert [(ln["line_no"], ln["sku"]) for ln in order["lines"]] == [(1, "WIDGET-BLUE"), (2, "CABLE-USB-C")]
    assert [orders.tier.reservations[r]["reference"] for r in order["reservation_ids"]] == [
        f"{order_id}.1",
        f"{order_id}.2",
    ]
    assert len(selects) == 1, selects
    assert offloaded == []
