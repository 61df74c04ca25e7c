"""Build the storefront experience API: ``uvicorn --factory experience_apis.storefront.app:create_app``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from contracts.events import AvailabilityChangedV1, ShipmentConfirmedV1
from experience_apis.storefront import fulfilments, service, webhooks
from experience_apis.storefront.client import StorefrontAdmin
from experience_apis.storefront.mapping import CHANNEL
from experience_apis.storefront.migrations import HISTORY
from experience_apis.storefront.models import Base
from experience_apis.storefront.routes import router
from experience_apis.storefront.routes_fulfilments import router as fulfilments_router
from experience_apis.storefront.routes_webhooks import router as webhooks_router
from experience_apis.storefront.seed import seed_demo
from experience_apis.storefront.settings import StorefrontSettings
from service_kit.app import create_service_app
from service_kit.auth import TokenVerifier
from service_kit.events.admin_routes import router as events_admin_router
from service_kit.events.workers import batch_event_consumer, event_consumer
from service_kit.secrets import SecretBox
from service_kit.settings import ServiceSettings
from service_kit.workers import stop_event


def create_app(
    settings: StorefrontSettings | ServiceSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or StorefrontSettings.load("storefront")
    if not isinstance(settings, StorefrontSettings):  # plain service settings (the contract exporter): our defaults
        settings = StorefrontSettings(**settings.model_dump())
    resolved = settings

    async def seed(app: FastAPI) -> None:
        if resolved.seed_demo:
            await seed_demo(app.state.db)

    async def configure_shop(app: FastAPI) -> None:
        app.state.secrets = SecretBox.from_settings(resolved)
        if secret := resolved.webhook_secret.get_secret_value():
            await webhooks.configure_shop(
                db=app.state.db,
                box=app.state.secrets,
                shop_domain=resolved.webhook_shop_domain,
                secret=secret,
                partner_id=resolved.webhook_partner_id,
                customer_id=resolved.webhook_customer_id,
                currency=resolved.webhook_currency,
            )

    def shop_admin(app: FastAPI) -> StorefrontAdmin:
        """One client for both pushers: they share the shop's rate limit (one pacer)."""
        if getattr(app.state, "storefront_admin", None) is None:
            app.state.storefront_admin = StorefrontAdmin(
                app.state.http,
                base_url=resolved.admin_url,
                token=resolved.admin_token,
                calls_per_second=resolved.admin_calls_per_second,
            )
        admin: StorefrontAdmin = app.state.storefront_admin
        return admin

    async def inventory_pusher(app: FastAPI) -> None:
        admin = shop_admin(app)
        await service.run_pusher(
            db=app.state.db,
            admin=admin,
            schedule=resolved.push_retry_schedule,
            poll_seconds=resolved.push_poll_seconds,
            max_idle_seconds=resolved.push_max_idle_seconds,
            stop_event=stop_event(app),
        )

    async def fulfilment_pusher(app: FastAPI) -> None:
        admin = shop_admin(app)
        await fulfilments.run_pusher(
            db=app.state.db,
            admin=admin,
            schedule=resolved.push_retry_schedule,
            poll_seconds=resolved.push_poll_seconds,
            max_idle_seconds=resolved.push_max_idle_seconds,
            stop_event=stop_event(app),
        )

    on_availability = service.availability_batch_handler(channel=resolved.availability_channel)
    return create_service_app(
        settings,
        title="Interchange storefront experience API",
        description="Takes in the storefront's signed order webhooks (HMAC) as canonical orders, and pushes "
        "the storefront channel's available-to-sell levels to the storefront's admin API "
        "(coalesced per SKU, within its rate limit, retried, dead letters kept); this API shows the push "
        "status and replays dead letters.",
        routers=[router, fulfilments_router, events_admin_router],
        metadata=[Base.metadata],
        migrations=HISTORY,
        transport=transport,
        verifier=verifier,
        public_routers=[webhooks_router],  # authenticated by the webhook's HMAC, not a bearer token
        on_startup=[seed, configure_shop],
        workers=[
            # A batch per transaction: it takes every channel's availability.changed (and keeps its own,
            # each SKU's newest level of the batch).
            batch_event_consumer(
                group="storefront",
                types={AvailabilityChangedV1.event_type},
                handler=on_availability,
                linger=resolved.consumer_linger,
            ),
            inventory_pusher,
            # Shipments of the storefront's orders -> fulfilments at the shop, once per shipment id.
            event_consumer(
                group=fulfilments.GROUP,
                handlers={ShipmentConfirmedV1.event_type: fulfilments.shipment_handler(channel=CHANNEL)},
            ),
            fulfilment_pusher,
        ],
    )
