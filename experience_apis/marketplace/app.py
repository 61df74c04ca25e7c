"""Build the marketplace experience API: ``uvicorn --factory experience_apis.marketplace.app:create_app``."""

from __future__ import annotations

from datetime import date

import httpx
from fastapi import FastAPI

from contracts.events import AvailabilityChangedV1
from experience_apis.marketplace import (
    fulfillment,
    partner_admin_routes,
    routes_channel,
    routes_dialect,
    routes_fulfillment,
    routes_v1,
    routes_v2,
)
from experience_apis.marketplace.api_docs import document_api
from experience_apis.marketplace.channel import availability_handler
from experience_apis.marketplace.directory import PartnerDirectory
from experience_apis.marketplace.fulfillment_examples import FULFILLMENT_EXAMPLES
from experience_apis.marketplace.migrations import HISTORY
from experience_apis.marketplace.models import Base
from experience_apis.marketplace.seed import seed_demo
from experience_apis.marketplace.settings import MarketplaceSettings
from service_kit.app import create_service_app
from service_kit.auth import TokenVerifier
from service_kit.events.admin_routes import router as events_admin_router
from service_kit.events.batch import each_event
from service_kit.events.workers import batch_event_consumer
from service_kit.openapi import Deprecation, add_examples, deprecate_version
from service_kit.settings import ServiceSettings
from service_kit.webhooks import WebhookPolicy, WebhooksBase, webhook_delivery_worker

#: Version 1 keeps serving beside version 2 until its sunset; its contract and its responses say so.
V1_DEPRECATION = Deprecation(since=date(2026, 11, 23), sunset=date(2027, 6, 30), successor="/marketplace/v2")


def create_app(
    settings: MarketplaceSettings | ServiceSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or MarketplaceSettings.load("marketplace")
    if not isinstance(settings, MarketplaceSettings):  # plain service settings (tests, the exporter): our defaults
        settings = MarketplaceSettings(**settings.model_dump())
    policy = WebhookPolicy.from_settings(settings)
    on_availability = availability_handler(channel=settings.availability_channel)

    async def seed(app: FastAPI) -> None:
        if settings.seed_demo:
            await seed_demo(app.state.db)

    app = create_service_app(
        settings,
        title="Interchange marketplace experience API",
        description="Order intake and order status for marketplace partners, in the marketplace's own dialect; "
        "an availability feed and signed webhooks for their listings' stock.",
        routers=[
            routes_v1.router,
            routes_channel.build_router(version="v1"),
            routes_v2.router,
            routes_fulfillment.router,
            routes_channel.build_router(version="v2"),
            routes_dialect.router,
            events_admin_router,
            partner_admin_routes.router,
        ],
        metadata=[Base.metadata, WebhooksBase.metadata],
        migrations=HISTORY,
        transport=transport,
        verifier=verifier,
        on_startup=[seed],
        workers=[
            # A batch per transaction (it takes every channel's availability.changed, keeps its own).
            batch_event_consumer(
                group="marketplace",
                types={AvailabilityChangedV1.event_type},
                handler=each_event(on_availability),
            ),
            # Shipments and credited returns of the partners' orders, told as webhooks (issue 11).
            batch_event_consumer(
                group=fulfillment.GROUP, types=fulfillment.TYPES, handler=each_event(fulfillment.fulfillment_handler())
            ),
            webhook_delivery_worker(policy=lambda app: app.state.webhook_policy),
        ],
    )
    app.state.webhook_policy = policy
    app.state.partner_directory = PartnerDirectory(max_age=settings.partner_cache_seconds)
    deprecate_version(app, version="v1", deprecation=V1_DEPRECATION)
    document_api(app)  # per-operation examples and the webhook, in the contract
    add_examples(app, routes_dialect.EXAMPLES)
    add_examples(app, FULFILLMENT_EXAMPLES)
    return app
