"""The inventory service's background work, as ``create_service_app`` workers: seeding the
projection once at start, publishing what is due, and reconciling on a schedule. (Consuming
stock events a batch at a time and relaying the outbox are the kit's own workers: ``app.py``.) All run on the kit's
worker runtime (``service_kit.workers``): they wake on work, back off when idle and stop between
two units of work (the one-off seed is one unit, retried until it succeeds); each unit owns its
transactions."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import structlog
from fastapi import FastAPI

from process_apis.inventory import history as stock_history
from process_apis.inventory import reconcile, repository, service
from process_apis.inventory.projection import DUE
from process_apis.inventory.publisher import Throttle, publish_due
from process_apis.inventory.settings import InventorySettings
from process_apis.inventory.throttle import SharedChannelThrottle, channel_throttle
from service_kit.app import upstream
from service_kit.leases import run_scheduled
from service_kit.workers import run_once, run_worker, stop_event, wakeup_for

log = structlog.get_logger("process_apis.inventory.workers")

#: Rows a publisher pass reads at most (every channel's update in it is a batch of up to this).
PASS_LIMIT = 500


def _settings(app: FastAPI) -> InventorySettings:
    settings: InventorySettings = app.state.settings
    return settings


async def seed_projection(app: FastAPI) -> None:
    """Seed from the WMS and ERP once, as one unit of work on the runtime (one transaction); they
    may start after us, so a failed seed is retried with capped backoff until the service stops."""
    settings = _settings(app)

    async def seed() -> None:
        async with app.state.db.transaction() as session:
            result = await service.rebuild_projection(
                session=session,
                wms=upstream(app, "wms"),
                erp=upstream(app, "erp"),
                rules=settings.channels,
                window=settings.coalesce_window,
            )
        log.info("projection_seeded", positions=result.positions, items=result.items, skus=result.skus)

    await run_once("seed_projection", seed, stop_event=stop_event(app), error_backoff=(1.0, 30.0))


async def publish_availability(app: FastAPI) -> None:
    """Publish what is due, on the worker runtime: woken by the commit that made a value due
    (``projection.refresh_skus``), it waits inside the unit, briefly, for a value still in its
    coalescing window or held back by its channel's throttle; with nothing pending it sleeps
    until woken (or ``publish_idle`` seconds: a change made by another process)."""
    settings = _settings(app)
    db = app.state.db
    # Shared by the replicas through Redis in scaled mode, this process's own otherwise (throttle.py).
    throttle = channel_throttle(
        rules=settings.channels, events_url=settings.events_url, replicas=settings.throttle_replicas
    )
    stop = stop_event(app)

    async def publish_once() -> int:
        published = await publish_due(db=db, throttle=throttle, metrics=app.state.inventory_metrics, limit=PASS_LIMIT)
        earliest = None
        if not published:
            async with db.transaction() as session:
                earliest = await repository.next_due(session=session)
        pause = next_pass_in(
            published=published,
            earliest=earliest,
            now=datetime.now(UTC),
            throttle=throttle,
            interval=settings.publish_interval,
        )
        if pause is None:
            return 0  # nothing pending: sleep until woken
        if pause > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)
        return max(published, 1)  # something is pending: look again

    try:
        await run_worker(
            "inventory_publisher",
            publish_once,
            wakeup=wakeup_for(db=db, topic=DUE),
            stop_event=stop,
            idle_backoff=(min(0.5, settings.publish_idle), settings.publish_idle),
            error_backoff=(settings.publish_interval, 30.0),
        )
    finally:
        if isinstance(throttle, SharedChannelThrottle):
            await throttle.aclose()


def next_pass_in(
    *, published: int, earliest: datetime | None, now: datetime, throttle: Throttle, interval: float
) -> float | None:
    """Seconds before the publisher's next pass (None: nothing is pending, sleep until woken).

    A full pass (``PASS_LIMIT``): a backlog, at once. A pass that published: ``interval``, so that
    what falls due meanwhile goes out with the next pass (each pass costs a few transactions,
    however few rows it carries). Nothing published: until the earliest value leaves its window,
    or, due already but held back by a throttle, until the channel has a token; at least
    ``interval`` and at most a second."""
    if published >= PASS_LIMIT:
        return 0.0
    if published:
        return interval
    if earliest is None:
        return None
    wait = (_aware(earliest) - now).total_seconds()
    if wait <= 0:
        wait = throttle.wait(now=now.timestamp())
    return min(1.0, max(interval, wait))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def reconcile_on_schedule(app: FastAPI) -> None:
    """Every ``reconcile_interval`` seconds (the first at the start of the next interval), on the worker
    runtime, once per interval across the service's replicas (``service_kit.leases``)."""
    settings = _settings(app)
    if settings.reconcile_interval <= 0:
        return

    async def reconcile_once() -> None:
        async with app.state.db.transaction() as session:
            report = await reconcile.reconcile(
                session=session,
                wms=upstream(app, "wms"),
                rules=settings.channels,
                window=settings.coalesce_window,
                repair=settings.reconcile_repair,
                metrics=app.state.inventory_metrics,
            )
        if report.drift:
            log.warning("availability_drift", drift=len(report.drift), repaired=report.repaired)

    await run_scheduled(
        "inventory_reconcile",
        reconcile_once,
        db=app.state.db,
        every=settings.reconcile_interval,
        stop_event=stop_event(app),
        at_start=False,
    )


#: How often the stock history (``history``) is pruned of rows older than ``history_days``.
HISTORY_PRUNE_SECONDS = 3600.0


async def prune_history_on_schedule(app: FastAPI) -> None:
    """Once an hour across the replicas, whether or not reconciliations are scheduled: the stock
    history the console charts keeps ``history_days`` days."""
    settings = _settings(app)

    async def prune_once() -> None:
        async with app.state.db.transaction() as session:
            await stock_history.prune(session=session, before=datetime.now(UTC) - timedelta(days=settings.history_days))

    await run_scheduled(
        "inventory_history_prune", prune_once, db=app.state.db, every=HISTORY_PRUNE_SECONDS, stop_event=stop_event(app)
    )


__all__ = ["prune_history_on_schedule", "publish_availability", "reconcile_on_schedule", "seed_projection"]
