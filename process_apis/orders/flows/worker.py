"""The background worker, on the kit's worker runtime (``service_kit.workers.run_worker``): woken
when intake records an order or a request changes one (``wake_worker``, after the commit), else
every ``worker_poll_interval`` seconds for retries that fall due; each unit is one pass over the
due orders, ``worker_concurrency`` at a time, and it stops between two orders when the service does.
A runner of a pass that finds nothing due waits, while others are still at work, for new work or
for one of them to finish, so orders arriving during a pass start at once (a pass ends when none
of its runners has an order, or after ``worker_batch_size`` claims).

``process_pending_orders`` is one pass, callable on its own (tests drive it directly). Passes in
one process never overlap, and an order running in this process is never claimed twice by it;
across processes the conditional claim in the repository keeps two workers off the same order.

``release_own_claims`` runs at start-up: a worker restarted after a crash (same ``worker_id``)
takes its orders back at once instead of waiting for their lease to run out.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

import structlog
from fastapi import FastAPI
from sqlalchemy import Table

from process_apis.orders import claims
from process_apis.orders.clients import ErpClient, OrderClients, clients_for
from process_apis.orders.flows.outcomes import RetryPolicy
from process_apis.orders.flows.recorder import StepRecorder
from process_apis.orders.flows.saga import Progress, advance_order, claimed_progress
from process_apis.orders.models import OrderRow
from process_apis.orders.settings import OrdersSettings
from service_kit import idempotency
from service_kit.app import upstream
from service_kit.db import Database
from service_kit.events.workers import event_consumer
from service_kit.leases import run_scheduled
from service_kit.pg_watch import notify_probe
from service_kit.saga.claims import release_claims
from service_kit.saga.passes import PassSignal, SagaPass
from service_kit.workers import Wakeup, run_once, run_worker, stop_event

log = structlog.get_logger("process_apis.orders.worker")

_ORDERS = cast(Table, OrderRow.__table__)


def worker_id(settings: OrdersSettings) -> str:
    return settings.worker_id or f"{socket.gethostname()}:{settings.port}"


def install_worker_state(app: FastAPI) -> None:
    # On PostgreSQL an order taken in by one replica wakes the idle workers of the others too.
    app.state.orders_wakeup = Wakeup(probe=notify_probe(url=app.state.settings.database_url, topic="orders_saga"))
    app.state.orders_pass_lock = asyncio.Lock()
    app.state.orders_in_flight = set()


def wake_worker(app: FastAPI) -> None:
    """Tell the worker there is new work (called once the request's transaction committed): the
    pass under way, whose idle runners then claim it, or else the next pass."""
    app.state.orders_wakeup.notify()
    signal: PassSignal | None = getattr(app.state, "orders_pass_signal", None)
    if signal is not None:
        signal.notify(work=True)


async def release_own_claims(app: FastAPI) -> None:
    """Start-up hook: orders this worker claimed before it died are due again now."""
    settings: OrdersSettings = app.state.settings
    db: Database = app.state.db
    async with db.transaction() as session:
        released = await release_claims(session, table=_ORDERS, worker_id=worker_id(settings))
    if released:
        log.info("order_claims_released", count=released)


async def process_pending_orders(app: FastAPI, *, now: datetime | None = None) -> int:
    """One pass over the due orders. Returns how many stopped (done, rejected, cancelled, or on
    hold for a person). ``now`` is the pass's clock for claims and backoff (tests move it)."""
    stopped, _ = await _pass(app, now=now)
    return stopped


async def _pass(app: FastAPI, *, now: datetime | None = None) -> tuple[int, int]:
    """One pass (the kit's ``SagaPass``): (orders that stopped, orders claimed). No new order is
    claimed once the service is stopping; the ones in hand finish their current step."""
    settings: OrdersSettings = app.state.settings
    db: Database = app.state.db
    policy = RetryPolicy(
        initial=settings.retry_backoff_initial,
        maximum=settings.retry_backoff_max,
        max_attempts=settings.retry_max_attempts,
    )
    lease = timedelta(seconds=settings.worker_claim_lease)
    me = worker_id(settings)
    recorder = _recorder(app, db=db, lease=lease)
    metrics = getattr(app.state, "metrics", None)

    def make_clients(*, partner_id: str | None, correlation_id: str | None) -> OrderClients:
        return clients_for(app, partner_id=partner_id, correlation_id=correlation_id)

    def clock() -> datetime:
        return now or datetime.now(UTC)

    async def claim(limit: int, skip: Sequence[str]) -> list[tuple[str, Progress | None]]:
        """Several orders claimed (and read) in one transaction."""
        at = clock()
        async with db.engine.begin() as connection:  # Core statements: no session needed
            ids = await claims.claim_due(
                connection, now=at, lease_until=at + lease, worker_id=me, limit=limit, skip=skip
            )
            loaded = await claimed_progress(connection, order_ids=ids)
        return [(order_id, loaded.get(order_id)) for order_id in ids]

    async def advance(order_id: str, loaded: Progress | None) -> bool:
        try:
            status = await advance_order(
                db=db,
                make_clients=make_clients,
                order_id=order_id,
                now=clock(),
                policy=policy,
                lease=lease,
                loaded=loaded,
                recorder=recorder,
                metrics=metrics,
            )
        except Exception:
            log.exception("order_advance_failed", order_id=order_id)
            status = None
        return status is not None

    signal = PassSignal()
    one = SagaPass(
        claim=claim,
        advance=advance,
        concurrency=settings.worker_concurrency,
        batch_size=settings.worker_batch_size,
        poll=settings.worker_poll_interval,
        stopping=stop_event(app),
        in_flight=app.state.orders_in_flight,
        signal=signal,
        name="orders",
    )
    app.state.orders_pass_signal = signal
    async with app.state.orders_pass_lock:
        try:
            result = await one.run()
        finally:
            app.state.orders_pass_signal = None
    return result.stopped, result.claimed


def _recorder(app: FastAPI, *, db: Database, lease: timedelta) -> StepRecorder:
    """The app's one recorder of the saga's steps (group commit across the runners of a pass)."""
    recorder: StepRecorder | None = getattr(app.state, "orders_recorder", None)
    if recorder is None:
        recorder = app.state.orders_recorder = StepRecorder(db, lease=lease)
    return recorder


async def run_order_worker(app: FastAPI) -> None:
    """The ``workers=[...]`` hook: passes until the service stops; a pass that claimed orders is
    followed at once by the next, an idle one waits for a wake-up or the poll interval."""
    settings: OrdersSettings = app.state.settings
    if not settings.worker_enabled:
        return

    async def one_pass() -> int:
        _, claimed = await _pass(app)
        return claimed

    poll = max(settings.worker_poll_interval, 0.01)
    await run_worker(
        "orders_saga", one_pass, wakeup=app.state.orders_wakeup, stop_event=stop_event(app), idle_backoff=(poll, poll)
    )


async def run_master_data_feed(app: FastAPI) -> None:
    """The ``workers=[...]`` hook keeping the copy of the ERP's master data current: the snapshot
    at start (one unit of work on the runtime, retried with capped backoff until the ERP answers),
    then its change events."""
    settings: OrdersSettings = app.state.settings
    if not settings.worker_enabled:
        return

    async def load_snapshot() -> None:
        customers, price_lists = await app.state.master_data.load_snapshot(ErpClient(upstream(app, "erp")))
        app.state.metrics.master_data_snapshot.set_to_current_time()  # a readiness signal (bench/orders.py)
        log.info("master_data_snapshot_loaded", customers=customers, price_lists=price_lists)

    if not await run_once("master_data_snapshot", load_snapshot, stop_event=stop_event(app), error_backoff=(1.0, 30.0)):
        return  # stopped before the ERP answered
    consume = event_consumer(group="orders-masterdata", handlers=app.state.master_data.event_handlers())
    await consume(app)


async def prune_idempotency_keys(app: FastAPI) -> int:
    """Removes idempotency keys older than the 24 hours they are kept for."""
    pruned = await idempotency.prune(app.state.db)
    if pruned:
        log.info("idempotency_keys_pruned", count=pruned)
    return pruned


async def run_idempotency_pruner(app: FastAPI) -> None:
    """The ``workers=[...]`` hook: prunes at start-up, then every ``idempotency_prune_interval``,
    once per interval across the service's replicas and restarts (``service_kit.leases``: a
    replica that starts in an interval another one pruned waits for the next); a failed pass is
    logged and tried again."""
    settings: OrdersSettings = app.state.settings
    every = max(settings.idempotency_prune_interval, 0.01)

    async def prune_once() -> None:
        await prune_idempotency_keys(app)

    await run_scheduled("idempotency_pruner", prune_once, db=app.state.db, every=every, stop_event=stop_event(app))


__all__ = [
    "install_worker_state",
    "process_pending_orders",
    "prune_idempotency_keys",
    "release_own_claims",
    "run_idempotency_pruner",
    "run_master_data_feed",
    "run_order_worker",
    "wake_worker",
    "worker_id",
]
