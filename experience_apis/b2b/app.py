"""Build the B2B experience API: ``uvicorn --factory experience_apis.b2b.app:create_app``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from experience_apis.b2b import partner_admin_routes, routes_fulfilment, routes_quotes
from experience_apis.b2b.examples import EXAMPLES
from experience_apis.b2b.examples_fulfilment import FULFILMENT_EXAMPLES
from experience_apis.b2b.examples_quotes import QUOTE_EXAMPLES
from experience_apis.b2b.migrations import HISTORY
from experience_apis.b2b.models import Base
from experience_apis.b2b.routes import router
from experience_apis.b2b.seed import seed_demo
from experience_apis.b2b.settings import B2bSettings
from service_kit.app import create_service_app
from service_kit.auth import TokenVerifier
from service_kit.openapi import add_examples
from service_kit.settings import ServiceSettings


def create_app(
    settings: B2bSettings | ServiceSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or B2bSettings.load("b2b")
    if not isinstance(settings, B2bSettings):  # plain service settings (tests, the exporter): our defaults
        settings = B2bSettings(**settings.model_dump())
    resolved = settings

    async def seed(app: FastAPI) -> None:
        if resolved.seed_demo:
            await seed_demo(app.state.db)

    app = create_service_app(
        settings,
        title="Interchange B2B experience API",
        description="For resellers' purchasing systems: the catalog at the reseller's own prices, purchase orders "
        "(idempotent), their history and status, availability by warehouse, quotes, invoices and credit memos, and the "
        "account's credit headroom. The reseller is the access "
        "token's partner.",
        routers=[router, routes_fulfilment.router, routes_quotes.router, partner_admin_routes.router],
        metadata=[Base.metadata],
        migrations=HISTORY,
        transport=transport,
        verifier=verifier,
        on_startup=[seed],
    )
    add_examples(app, {**EXAMPLES, **FULFILMENT_EXAMPLES, **QUOTE_EXAMPLES})
    return app
