"""Build the fulfilment process API: ``uvicorn --factory process_apis.fulfillment.app:create_app``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from process_apis.fulfillment.migrations import HISTORY
from process_apis.fulfillment.models import Base
from process_apis.fulfillment.routes import admin_router, router
from process_apis.fulfillment.settings import FulfillmentSettings
from process_apis.fulfillment.worker import (
    install_worker_state,
    order_events,
    release_own_claims,
    run_saga_worker,
    warehouse_events,
)
from service_kit.app import create_service_app
from service_kit.auth import TokenVerifier
from service_kit.events.admin_routes import router as events_admin_router
from service_kit.events.workers import outbox_relay


def create_app(
    settings: FulfillmentSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or FulfillmentSettings.load("fulfillment")
    if not isinstance(settings, FulfillmentSettings):  # plain service settings (the contract exporter)
        settings = FulfillmentSettings(**settings.model_dump())
    app = create_service_app(
        settings,
        title="Interchange fulfilment process API",
        description="Shipments (a 3PL's ASN or the WMS's own) invoiced by the ERP and told to the channel with "
        "carrier and tracking; returns authorised, received and credited; fulfilment requests for 3PL partners; "
        "durable sagas with an exception queue and replay.",
        routers=[router, admin_router, events_admin_router],
        metadata=[Base.metadata],
        migrations=HISTORY,
        transport=transport,
        verifier=verifier,
        on_startup=[release_own_claims],
        workers=[run_saga_worker, outbox_relay(), order_events(), warehouse_events()],
    )
    install_worker_state(app)
    return app
