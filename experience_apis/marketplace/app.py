"""Build the marketplace experience API: ``uvicorn --factory experience_apis.marketplace.app:create_app``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from experience_apis.marketplace.models import Base
from experience_apis.marketplace.routes import router
from experience_apis.marketplace.seed import seed_demo
from service_kit.app import create_service_app
from service_kit.auth import TokenVerifier
from service_kit.settings import ServiceSettings


def create_app(
    settings: ServiceSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or ServiceSettings.load("marketplace")

    async def seed(app: FastAPI) -> None:
        if settings.seed_demo:
            await seed_demo(app.state.db)

    return create_service_app(
        settings,
        title="Interchange marketplace experience API",
        description="Order intake and order status for marketplace partners, in the marketplace's own dialect.",
        routers=[router],
        metadata=[Base.metadata],
        transport=transport,
        verifier=verifier,
        on_startup=[seed],
    )
