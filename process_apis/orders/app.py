"""Build the orders process API: ``uvicorn --factory process_apis.orders.app:create_app``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from process_apis.orders.account_routes import router as account_router
from process_apis.orders.admin_routes import router as admin_router
from process_apis.orders.clients import CrmClient, ErpClient, WmsClient
from process_apis.orders.flows.activities import ActivityBatcher
from process_apis.orders.flows.injection import arm_injection_point
from process_apis.orders.flows.pivot import PivotBatcher
from process_apis.orders.flows.wms_batches import PickReleaseBatcher, ReservationBatcher
from process_apis.orders.flows.worker import (
    install_worker_state,
    release_own_claims,
    run_idempotency_pruner,
    run_master_data_feed,
    run_order_worker,
)
from process_apis.orders.lookup_routes import router as lookup_router
from process_apis.orders.masterdata import MasterData
from process_apis.orders.migrations import HISTORY
from process_apis.orders.models import Base
from process_apis.orders.queue_metrics import watch_exception_queue
from process_apis.orders.routes import router
from process_apis.orders.settings import OrdersSettings
from service_kit.app import create_service_app, upstream
from service_kit.auth import TokenVerifier
from service_kit.events.admin_routes import router as events_admin_router
from service_kit.events.workers import outbox_relay
from service_kit.http import UpstreamPolicy, configure_upstream


def create_app(
    settings: OrdersSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or OrdersSettings.load("orders")
    if not isinstance(settings, OrdersSettings):  # plain service settings (the contract exporter): our defaults
        settings = OrdersSettings(**settings.model_dump())
    resolved = settings

    async def prepare(app: FastAPI) -> None:
        app.state.master_data.db = app.state.db
        for name in ("erp", "wms", "crm"):
            rate = resolved.erp_calls_per_second if name == "erp" else 0.0
            policy = UpstreamPolicy(
                calls_per_second=rate or None,
                breaker_threshold=resolved.breaker_threshold,
                breaker_ttl=resolved.breaker_ttl,
            )
            configure_upstream(app.state.http, name, policy)
        await release_own_claims(app)

    app = create_service_app(
        settings,
        title="Interchange orders process API",
        description="Takes canonical orders in, validates them against the ERP and runs them across the "
        "ERP, WMS and CRM as a durable saga: price, credit check, reserve stock, create the sales order, "
        "release for picking, record the activity; with cancellation, an exception queue and replay.",
        routers=[router, admin_router, lookup_router, account_router, events_admin_router],
        metadata=[Base.metadata],
        migrations=HISTORY,
        transport=transport,
        verifier=verifier,
        on_startup=[prepare],
        workers=[run_order_worker, run_idempotency_pruner, outbox_relay(), run_master_data_feed],
    )
    install_worker_state(app)
    watch_exception_queue(app)  # interchange_orders_exception_queue_* at scrape time
    app.state.master_data = MasterData(max_age=settings.master_data_max_age)
    app.state.pivot_batcher = PivotBatcher(
        lambda correlation_id: ErpClient(upstream(app, "erp"), correlation_id=correlation_id),
        max_batch=settings.pivot_batch_size,
    )
    app.state.activity_batcher = ActivityBatcher(
        lambda correlation_id: CrmClient(upstream(app, "crm"), correlation_id=correlation_id)
    )

    def wms(correlation_id: str) -> WmsClient:
        return WmsClient(upstream(app, "wms"), correlation_id=correlation_id)

    app.state.reservation_batcher = ReservationBatcher(wms, max_batch=settings.wms_batch_size)
    app.state.pick_release_batcher = PickReleaseBatcher(wms, max_batch=settings.wms_batch_size)
    arm_injection_point(app, settings.injection_point)
    return app
