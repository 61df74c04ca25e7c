"""``reference_partners.storefront_admin.app:create_app``: the reference shop's admin API, run by
``interchange up`` beside the suite (``uvicorn --factory``), configured by ``INTERCHANGE_SHOP_*``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from reference_partners.storefront_admin.routes import router
from reference_partners.storefront_admin.settings import ShopSettings
from reference_partners.storefront_admin.storage import Store
from service_kit.correlation import CorrelationMiddleware
from service_kit.errors import UpstreamUnavailable
from service_kit.problems import install_problem_handlers


def create_app(settings: ShopSettings | None = None, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """``transport``: where webhooks go instead of the network (tests)."""
    settings = settings or ShopSettings()
    store = Store(settings.database_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store.create()
        async with httpx.AsyncClient(transport=transport) as http:
            app.state.http = http
            yield

    app = FastAPI(
        title="Reference storefront admin API",
        version="2024-01",
        description="A stand-in for the shop's own admin API (Shopify-like), for running the storefront "
        "loop locally: it keeps inventory levels, numbers orders and sends them as signed webhooks.",
        lifespan=lifespan,
    )
    app.state.settings, app.state.store = settings, store
    install_problem_handlers(app)
    app.add_middleware(CorrelationMiddleware)  # an unexpected error: logged, answered as a bare problem
    app.include_router(router)

    @app.get("/health/live", include_in_schema=False)
    def live() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/health/ready", include_in_schema=False)
    def ready() -> dict[str, Any]:
        if not store.readable():
            raise UpstreamUnavailable("The shop's database cannot be read yet.")
        return {"status": "ok"}

    return app
