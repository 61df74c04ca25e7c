"""Build the marketplace experience API: ``uvicorn --factory experience_apis.marketplace.app:create_app``."""

from __future__ import annotations

from datetime import date

import httpx
from fastapi import FastAPI

from experience_apis.marketplace import routes_v1, routes_v2
from experience_apis.marketplace.models import Base
from experience_apis.marketplace.seed import seed_demo
from service_kit.app import create_service_app
from service_kit.auth import TokenVerifier
from service_kit.openapi import Deprecation, deprecate_version
from service_kit.settings import ServiceSettings

#: Version 1 keeps serving beside version 2 until its sunset; its contract and its responses say so.
V1_DEPRECATION = Deprecation(since=date(2026, 11, 23), sunset=date(2027, 6, 30), successor="/marketplace/v2")


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

    app = create_service_app(
        settings,
        title="Interchange marketplace experience API",
        description="Order intake and order status for marketplace partners, in the marketplace's own dialect.",
        routers=[routes_v1.router, routes_v2.router],
        metadata=[Base.metadata],
        transport=transport,
        verifier=verifier,
        on_startup=[seed],
    )
    deprecate_version(app, version="v1", deprecation=V1_DEPRECATION)
    return app
