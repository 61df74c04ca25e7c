"""The inventory service's background work, as ``create_service_app`` workers: seeding the
projection once at start, publishing what is due, and reconciling on a schedule. (Consuming
events and relaying the outbox are the kit's own workers.) Each loop owns its transactions."""

from __future__ import annotations

import asyncio

import structlog
from fastapi import FastAPI

from process_apis.inventory import reconcile, service
from process_apis.inventory.publisher import ChannelThrottle, publish_due
from process_apis.inventory.settings import InventorySettings
from service_kit.app import upstream

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
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            attempt += 1
            pause = min(30.0, 0.5 * 2**attempt)
            log.warning("projection_seed_failed", error=repr(exc), retry_in=pause)
            await asyncio.sleep(pause)


async def publish_availability(app: FastAPI) -> None:
    settings = _settings(app)
    throttle = ChannelThrottle(settings.channels)
    failures = 0
    while True:
        try:
            published = await publish_due(db=app.state.db, throttle=throttle, metrics=app.state.inventory_metrics)
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures += 1
            log.warning("availability_publish_failed", error=repr(exc))
            await asyncio.sleep(min(30.0, settings.publish_interval * 2**failures))
            continue
        if not published:
            await asyncio.sleep(settings.publish_interval)


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
            if report.drift:
                log.warning("availability_drift", drift=len(report.drift), repaired=report.repaired)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("reconciliation_failed", error=repr(exc))


__all__ = ["publish_availability", "reconcile_on_schedule", "seed_projection"]
