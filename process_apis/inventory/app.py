"""Build the inventory process API: ``uvicorn --factory process_apis.inventory.app:create_app``."""

from __future__ import annotations

import gc

import httpx
from fastapi import FastAPI

from process_apis.inventory.handlers import GROUP, TYPES, handler
from process_apis.inventory.history_routes import router as history_router
from process_apis.inventory.metrics import InventoryMetrics
from process_apis.inventory.migrations import HISTORY
from process_apis.inventory.models import Base
from process_apis.inventory.routes import router
from process_apis.inventory.routes_partner_stock import router as partner_stock_router
from process_apis.inventory.routes_warehouse_availability import router as warehouse_availability_router
from process_apis.inventory.settings import InventorySettings
from process_apis.inventory.workers import (
    prune_history_on_schedule,
    publish_availability,
    reconcile_on_schedule,
    seed_projection,
)
from service_kit.app import Worker, create_service_app
from service_kit.auth import TokenVerifier
from service_kit.events.admin_routes import router as events_admin_router
from service_kit.events.workers import batch_event_consumer, outbox_relay


def create_app(
    settings: InventorySettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or InventorySettings.load("inventory")
    if not isinstance(settings, InventorySettings):  # plain service settings (the contract exporter)
        settings = InventorySettings(**settings.model_dump())
    workers: list[Worker] = []
    if settings.workers_enabled:
        consume_stock_events = batch_event_consumer(
            group=GROUP,
            types=TYPES,
            handler=handler(rules=settings.channels, window=settings.coalesce_window),
            max_messages=settings.consumer_batch,
            linger=settings.consumer_linger,
        )
        workers = [
            consume_stock_events,
            publish_availability,
            outbox_relay(),
            reconcile_on_schedule,
            prune_history_on_schedule,
        ]
        if settings.seed_on_start:
            workers.append(seed_projection)

    async def prepare(app: FastAPI) -> None:
        # What start-up built (modules, models, settings) lives as long as the process: keep it
        # out of the collector's full passes, which otherwise walk it all again and again under
        # a stream of events (a third of the consumer's CPU in a burst, measured with py-spy).
        gc.collect()
        gc.freeze()

    app = create_service_app(
        settings,
        title="Interchange inventory process API",
        description="Availability to sell per channel, from WMS stock movements and ERP item changes: "
        "synchronous queries, `com.interchange.availability.changed.v1` publication (coalesced per SKU, "
        "throttled per channel), and reconciliation of what channels were told against the WMS.",
        routers=[router, history_router, partner_stock_router, warehouse_availability_router, events_admin_router],
        metadata=[Base.metadata],
        migrations=HISTORY,
        transport=transport,
        verifier=verifier,
        on_startup=[prepare],
        workers=workers,
    )
    app.state.inventory_metrics = InventoryMetrics.register(app.state.registry)
    return app
