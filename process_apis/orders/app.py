"""Build the orders process API: ``uvicorn --factory process_apis.orders.app:create_app``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from process_apis.orders.flows.worker import install_worker_state, run_order_worker
from process_apis.orders.models import Base
from process_apis.orders.routes import router
from process_apis.orders.settings import OrdersSettings
from service_kit.app import create_service_app
from service_kit.auth import TokenVerifier


def create_app(
    settings: OrdersSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or OrdersSettings.load("orders")
    app = create_service_app(
        settings,
        title="Interchange orders process API",
        description="Takes canonical orders in, validates them against the ERP and runs them across the "
        "ERP, WMS and CRM: price, reserve stock, create the sales order, record the activity.",
        routers=[router],
        metadata=[Base.metadata],
        transport=transport,
        verifier=verifier,
        workers=[run_order_worker],
    )
    install_worker_state(app)
    return app
