"""The inventory service's background work, as ``create_service_app`` workers: seeding the
projection once at start, consuming stock events a batch at a time, publishing what is due, and
reconciling on a schedule. (Relaying the outbox is the kit's own worker.) Each loop owns its
transactions.

The publisher sleeps until the earliest due publication, or until the consumer (same process)
says it made one due: no polling while nothing is pending."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from process_apis.inventory import reconcile, repository, service
from process_apis.inventory.handlers import GROUP, TYPES, handler
from process_apis.inventory.publisher import ChannelThrottle, publish_due
from process_apis.inventory.settings import InventorySettings
from service_kit.app import upstream
from service_kit.events import open_bus
from service_kit.events.batch import consume_events
from service_kit.events.workers import member_name

log = structlog.get_logger("process_apis.inventory.workers")


def _settings(app: FastAPI) -> InventorySettings:
    settings: InventorySettings = app.state.settings
    return settings


async def seed_projection(app: FastAPI) -> None:
    """Seed from the WMS and ERP once; they may start after us, so retry with capped backoff."""
    settings = _settings(app)
    attempt = 0
    while True:
        try:
            async with app.state.db.transaction() as session:
                result = await service.rebuild_projection(
                    session=session,
                    wms=upstream(app, "wms"),
                    erp=upstream(app, "erp"),
                    rules=settings.channels,
                    window=settings.coalesce_window,
                )
            log.info("projection_seeded", positions=result.positions, items=result.items, skus=result.skus)
            _due_signal(app).set()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            attempt += 1
            pause = min(30.0, 0.5 * 2**attempt)
            log.warning("projection_seed_failed", error=repr(exc), retry_in=pause)
            await asyncio.sleep(pause)


def _due_signal(app: FastAPI) -> asyncio.Event:
    """Set when something in this process made a publication due (the consumer, a rebuild)."""
    signal: asyncio.Event | None = getattr(app.state, "inventory_due", None)
    if signal is None:
        signal = app.state.inventory_due = asyncio.Event()
    return signal


async def consume_stock_events(app: FastAPI) -> None:
    """stock.moved and item.changed, up to ``consumer_batch`` per transaction."""
    settings = _settings(app)
    apply = handler(rules=settings.channels, window=settings.coalesce_window)
    member = member_name(prefix=f"{GROUP}@")
    bus = open_bus(settings=settings)
    failures = 0
    try:
        while True:
            try:
                done = await consume_events(
                    bus=bus,
                    db=app.state.db,
                    group=GROUP,
                    consumer=member,
                    types=TYPES,
                    handler=apply,
                    max_messages=settings.consumer_batch,
                    wait_seconds=0.5,
                )
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                pause = min(30.0, 0.1 * 2**failures)
                log.warning("stock_event_consumer_failed", error=repr(exc), retry_in=round(pause, 2))
                await asyncio.sleep(pause)
                continue
            if any(d.event.type in TYPES for d, _ in done):
                _due_signal(app).set()
    finally:
        await bus.close()


async def publish_availability(app: FastAPI) -> None:
    settings = _settings(app)
    throttle = ChannelThrottle(settings.channels)
    signal = _due_signal(app)
    failures = 0
    while True:
        signal.clear()  # before the pass: a change made during it sets it again
        try:
            published = await publish_due(db=app.state.db, throttle=throttle, metrics=app.state.inventory_metrics)
            async with app.state.db.transaction() as session:
                wait = await _until_next_due(session=session, settings=settings)
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures += 1
            log.warning("availability_publish_failed", error=repr(exc))
            await asyncio.sleep(min(30.0, settings.publish_interval * 2**failures))
            continue
        if published:
            continue
        try:
            await asyncio.wait_for(signal.wait(), timeout=wait)
        except TimeoutError:
            pass


async def _until_next_due(*, session: AsyncSession, settings: InventorySettings) -> float:
    """Seconds to the earliest pending publication (at least ``publish_interval``: a row held
    back by its channel's throttle is due now), or ``publish_idle`` when none is pending."""
    earliest = await repository.next_due(session=session)
    if earliest is None:
        return settings.publish_idle
    seconds = (_aware(earliest) - datetime.now(UTC)).total_seconds()
    return min(settings.publish_idle, max(settings.publish_interval, seconds))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def reconcile_on_schedule(app: FastAPI) -> None:
    settings = _settings(app)
    if settings.reconcile_interval <= 0:
        return
    while True:
        await asyncio.sleep(settings.reconcile_interval)
        try:
            async with app.state.db.transaction() as session:
                report = await reconcile.reconcile(
                    session=session,
                    wms=upstream(app, "wms"),
                    rules=settings.channels,
                    window=settings.coalesce_window,
                    repair=settings.reconcile_repair,
                    metrics=app.state.inventory_metrics,
                )
            _due_signal(app).set()
            if report.drift:
                log.warning("availability_drift", drift=len(report.drift), repaired=report.repaired)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("reconciliation_failed", error=repr(exc))


__all__ = ["consume_stock_events", "publish_availability", "reconcile_on_schedule", "seed_projection"]
