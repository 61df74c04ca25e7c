"""Build the CRM system API: ``uvicorn --factory system_apis.crm.app:create_app``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from service_kit.app import create_service_app
from service_kit.auth import TokenVerifier
from service_kit.settings import ServiceSettings
from system_apis.crm.migrations import HISTORY
from system_apis.crm.models import Base
from system_apis.crm.routes import router
from system_apis.crm.seed import seed_demo


def create_app(
    settings: ServiceSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or ServiceSettings.load("crm")

    async def seed(app: FastAPI) -> None:
        if settings.seed_demo:
            await seed_demo(app.state.db)

    return create_service_app(
        settings,
        title="Interchange CRM system API",
        description="Customer accounts, the activity timeline and customer notices of the CRM, in canonical form.",
        routers=[router],
        metadata=[Base.metadata],
        migrations=HISTORY,
        transport=transport,
        verifier=verifier,
        on_startup=[seed],
    )
