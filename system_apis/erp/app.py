"""Build the ERP system API: ``uvicorn --factory system_apis.erp.app:create_app``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from service_kit.app import create_service_app
from service_kit.auth import TokenVerifier
from service_kit.events.workers import outbox_relay
from service_kit.settings import ServiceSettings
from system_apis.erp.billing_routes import router as billing_router
from system_apis.erp.migrations import HISTORY
from system_apis.erp.models import Base
from system_apis.erp.quota import CallQuota
from system_apis.erp.routes import router
from system_apis.erp.seed import seed_demo
from system_apis.erp.settings import ErpSettings


def create_app(
    settings: ErpSettings | ServiceSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or ErpSettings.load("erp")

    async def seed(app: FastAPI) -> None:
        if settings.seed_demo:
            await seed_demo(app.state.db)

    app = create_service_app(
        settings,
        title="Interchange ERP system API",
        description="Items, customers, prices, sales orders, invoices and credit memos of the ERP, in canonical form.",
        routers=[router, billing_router],
        metadata=[Base.metadata],
        migrations=HISTORY,
        transport=transport,
        verifier=verifier,
        on_startup=[seed],
        # Publishes the item.changed events that item changes committed to this service's outbox.
        workers=[outbox_relay()],
    )
    # Plain ServiceSettings (older callers) mean no quota.
    app.state.call_quota = CallQuota(getattr(settings, "call_quota_per_second", 0), metrics=app.state.metrics)
    return app
