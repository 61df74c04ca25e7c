"""Build the WMS system API: ``uvicorn --factory system_apis.wms.app:create_app``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from service_kit.app import create_service_app
from service_kit.auth import TokenVerifier
from service_kit.events.workers import outbox_relay
from service_kit.settings import ServiceSettings
from system_apis.wms.migrations import HISTORY
from system_apis.wms.models import Base
from system_apis.wms.routes import router
from system_apis.wms.seed import seed_demo
from system_apis.wms.shipping_routes import router as shipping_router
from system_apis.wms.stock_routes import router as stock_router
from system_apis.wms.units import UnitRunner


def create_app(
    settings: ServiceSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or ServiceSettings.load("wms")

    async def prepare(app: FastAPI) -> None:
        if settings.seed_demo:
            await seed_demo(app.state.db)
        app.state.wms_units = UnitRunner(db=app.state.db)

    async def close(app: FastAPI) -> None:
        units: UnitRunner | None = getattr(app.state, "wms_units", None)
        if units is not None:
            await units.close()

    return create_service_app(
        settings,
        title="Interchange WMS system API",
        description="Warehouses, stock positions, stock movements, stock reservations, shipments and return "
        "receipts of the WMS, in canonical form. Every movement is announced as a "
        "`com.interchange.stock.moved.v1` event.",
        routers=[router, stock_router, shipping_router],
        metadata=[Base.metadata],
        migrations=HISTORY,
        transport=transport,
        verifier=verifier,
        on_startup=[prepare],
        on_shutdown=[close],
        # Publishes the stock.moved events each movement committed to this service's outbox, up
        # to 500 a pass: under a stream of receipts the relay gets few turns of the event loop
        # beside the requests, and 100 a turn left events waiting seconds in the outbox.
        workers=[outbox_relay(batch_size=500)],
    )
