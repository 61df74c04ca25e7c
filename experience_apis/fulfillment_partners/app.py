"""Build the fulfilment partners' experience API:
``uvicorn --factory experience_apis.fulfillment_partners.app:create_app``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from experience_apis.fulfillment_partners import routes, routes_webhooks
from experience_apis.fulfillment_partners.examples import EXAMPLES
from experience_apis.fulfillment_partners.migrations import HISTORY
from experience_apis.fulfillment_partners.models import Base
from experience_apis.fulfillment_partners.seed import seed_demo
from experience_apis.fulfillment_partners.settings import FulfillmentPartnersSettings
from experience_apis.fulfillment_partners.webhooks import GROUP, TYPES, announce_request
from service_kit.app import create_service_app
from service_kit.auth import TokenVerifier
from service_kit.events.admin_routes import router as events_admin_router
from service_kit.events.batch import each_event
from service_kit.events.workers import batch_event_consumer
from service_kit.openapi import add_examples
from service_kit.settings import ServiceSettings
from service_kit.webhooks import WebhookPolicy, WebhooksBase, webhook_delivery_worker


def create_app(
    settings: FulfillmentPartnersSettings | ServiceSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or FulfillmentPartnersSettings.load("fulfillment_partners")
    if not isinstance(settings, FulfillmentPartnersSettings):  # plain service settings (tests, the exporter)
        settings = FulfillmentPartnersSettings(**settings.model_dump())
    resolved = settings

    async def seed(app: FastAPI) -> None:
        if resolved.seed_demo:
            await seed_demo(app.state.db)

    app = create_service_app(
        settings,
        title="Interchange fulfilment partners experience API",
        description="For 3PL and drop-ship partners: the fulfilment requests you are asked to ship (polled, or "
        "pushed as signed webhooks), shipment notices (ASNs, partial shipments welcome), return receipts and "
        "stock counts of your warehouse. The partner is the access token's partner.",
        routers=[routes.router, routes_webhooks.router, events_admin_router],
        metadata=[Base.metadata, WebhooksBase.metadata],
        migrations=HISTORY,
        transport=transport,
        verifier=verifier,
        on_startup=[seed],
        workers=[
            batch_event_consumer(group=GROUP, types=TYPES, handler=each_event(announce_request)),
            webhook_delivery_worker(policy=lambda app: app.state.webhook_policy),
        ],
    )
    app.state.webhook_policy = WebhookPolicy.from_settings(settings)
    add_examples(app, EXAMPLES)
    return app
