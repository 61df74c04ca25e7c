"""Build the WMS system API: ``uvicorn --factory system_apis.wms.app:create_app``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from service_kit.app import create_service_app
from service_kit.auth import TokenVerifier
from service_kit.settings import ServiceSettings
from system_apis.wms.models import Base
from system_apis.wms.routes import router
from system_apis.wms.seed import seed_demo


def create_app(
    settings: ServiceSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or ServiceSettings.load("wms")

    async def seed(app: FastAPI) -> None:
        if settings.seed_demo:
            await seed_demo(app.state.db)

    return create_service_app(
        settings,
        title="Interchange WMS system API",
        description="Warehouses, stock positions and stock reservations of the WMS, in canonical form.",
        routers=[router],
        metadata=[Base.metadata],
        transport=transport,
        verifier=verifier,
        on_startup=[seed],
    )
