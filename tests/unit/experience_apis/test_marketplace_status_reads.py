"""The order status read is the channel's hot path: the partner check and the order come from one
statement, and no dependency runs in the threadpool."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
import pytest
from sqlalchemy import event

from contracts.scopes import MARKETPLACE_ORDERS_READ
from tests.support.tokens import bearer
from tests.unit.experience_apis.conftest import Marketplace
from tests.unit.experience_apis.marketplace_fakes import ACME, PROBLEM, order_body


@contextmanager
def marketplace_selects(marketplace: Marketplace) -> Iterator[list[str]]:
    """The SELECTs on the marketplace's own tables while the block runs (the background workers'
    polling of other tables is left out)."""
    seen: list[str] = []
    engine = marketplace.app.state.db.engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "marketplace_" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_status_read_is_one_statement_and_no_threadpool_work(
    marketplace: Marketplace, monkeypatch: pytest.MonkeyPatch
) -> None:
    await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)
    offloaded: list[object] = []
    run_sync = anyio.to_thread.run_sync

    async def spy(func: Any, *args: Any, **kwargs: Any) -> Any:
        offloaded.append(func)
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", spy)

    with marketplace_selects(marketplace) as selects:
        resp = await marketplace.client.get("/v1/orders/ACME-100234", headers=ACME)

    assert resp.status_code == 200, resp.text
    assert resp.json()["order_status"] == "PENDING"
    assert len(selects) == 1, selects
    assert offloaded == []


async def test_status_read_for_a_client_that_is_no_partner_is_403_and_asks_nothing_below(
    marketplace: Marketplace,
) -> None:
    headers = bearer(MARKETPLACE_ORDERS_READ, partner_id="nova-market", channel="marketplace")

    resp = await marketplace.client.get("/v1/orders/ACME-100234", headers=headers)

    assert resp.status_code == 403
    assert resp.headers["content-type"] == PROBLEM
    assert "not set up as a marketplace partner" in resp.json()["detail"]
    assert marketplace.orders.requests == []


async def test_status_read_of_an_order_the_partner_never_sent_is_404(marketplace: Marketplace) -> None:
    resp = await marketplace.client.get("/v1/orders/ACME-NEVER-SENT", headers=ACME)

    assert resp.status_code == 404
    assert marketplace.orders.requests == []
