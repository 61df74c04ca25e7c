"""The orders service's start-up and scheduled workers run on the worker runtime: a stop ends them
between two units of work, by themselves (they used to be plain loops, cancelled from outside)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from process_apis.orders.flows.worker import run_idempotency_pruner, run_master_data_feed
from service_kit.workers import stop_event
from tests.unit.process_apis.conftest import Orders
from tests.unit.process_apis.orders_fakes import ERP


async def _until(check: Callable[[], bool]) -> None:
    while not check():
        await asyncio.sleep(0.01)  # a poll: the fake tier has no hook to wait on


@pytest.mark.timeout(30)
async def test_the_snapshot_retry_stops_between_attempts_while_the_erp_is_down(orders: Orders) -> None:
    app = orders.app
    app.state.settings = app.state.settings.model_copy(update={"worker_enabled": True})
    orders.tier.down.add(ERP)
    feed = asyncio.create_task(run_master_data_feed(app))

    def erp_was_asked() -> bool:
        return any(r.url.host == ERP for r in orders.tier.requests)

    await _until(erp_was_asked)
    stop_event(app).set()
    await asyncio.wait({feed}, timeout=10)  # the retry pause is cut short by the stop
    assert feed.done() and not feed.cancelled() and feed.exception() is None


@pytest.mark.timeout(30)
async def test_the_idempotency_pruner_returns_by_itself_on_a_stop(orders: Orders) -> None:
    app = orders.app
    assert app.state.settings.idempotency_prune_interval >= 3600
    pruner = asyncio.create_task(run_idempotency_pruner(app))
    await asyncio.sleep(0)
    stop_event(app).set()
    await asyncio.wait({pruner}, timeout=10)  # an hour to the next prune: only the stop ends it
    assert pruner.done() and not pruner.cancelled() and pruner.exception() is None
