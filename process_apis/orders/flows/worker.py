"""The background worker: wakes when intake records an order (or every poll interval), then
takes the due received orders one at a time through the saga.

``process_pending_orders`` is one pass, callable on its own (tests drive it directly). Passes in
one process never overlap; across processes the conditional claim in the repository keeps two
workers off the same order.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import structlog
from fastapi import FastAPI

from process_apis.orders import repository
from process_apis.orders.clients import OrderClients, clients_for
from process_apis.orders.flows.saga import RetryPolicy, advance_order
from process_apis.orders.settings import OrdersSettings
from service_kit.db import Database

log = structlog.get_logger("process_apis.orders.worker")


def install_worker_state(app: FastAPI) -> None:
    app.state.orders_wakeup = asyncio.Event()
    app.state.orders_pass_lock = asyncio.Lock()


def wake_worker(app: FastAPI) -> None:
    """Tell the worker there is new work (intake calls this once its transaction committed)."""
    app.state.orders_wakeup.set()


async def process_pending_orders(app: FastAPI, *, now: datetime | None = None) -> int:
    """One pass over the due received orders. Returns how many left ``received`` (accepted or
    rejected). ``now`` is the pass's clock for claims and backoff (tests move it forward)."""
    settings: OrdersSettings = app.state.settings
    db: Database = app.state.db
    policy = RetryPolicy(initial=settings.retry_backoff_initial, maximum=settings.retry_backoff_max)

    def make_clients(*, partner_id: str | None, correlation_id: str | None) -> OrderClients:
        return clients_for(app, partner_id=partner_id, correlation_id=correlation_id)

    moved = 0
    async with app.state.orders_pass_lock:
        clock = now or datetime.now(UTC)
        lease_until = clock + timedelta(seconds=settings.worker_claim_lease)
        for _ in range(settings.worker_batch_size):
            async with db.transaction() as session:
                order_id = await repository.claim_next_due(session, now=clock, lease_until=lease_until)
            if order_id is None:
                break
            status = await advance_order(db=db, make_clients=make_clients, order_id=order_id, now=clock, policy=policy)
            moved += status is not None
    return moved


async def run_order_worker(app: FastAPI) -> None:
    """The ``workers=[...]`` hook: passes until the service stops."""
    settings: OrdersSettings = app.state.settings
    if not settings.worker_enabled:
        return
    wakeup: asyncio.Event = app.state.orders_wakeup
    while True:
        wakeup.clear()
        try:
            await process_pending_orders(app)
        except Exception:
            log.exception("order_pass_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.wait(), timeout=settings.worker_poll_interval)


__all__ = ["install_worker_state", "process_pending_orders", "run_order_worker", "wake_worker"]
