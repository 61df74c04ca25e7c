"""Stock on the marketplace channel: the partners' availability feed and their webhooks.

``availability.changed`` events of the marketplace channel are consumed once each (consumer group
``marketplace``, deduped by event id, stale versions skipped by the kit's consumer) into one level
per partner listing; every change takes the next feed cursor and, in the same transaction, queues
a signed webhook delivery for each of that partner's subscriptions to ``availability.changed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import AvailabilityChangedV1, CloudEvent
from experience_apis.marketplace.availability_repository import AvailabilityRepository
from experience_apis.marketplace.repository import MarketplaceRepository
from experience_apis.marketplace.schemas_channel import (
    AvailabilityFeed,
    AvailabilityItem,
    DeliveryRead,
    DeliveryStatus,
    WebhookCreate,
    WebhookCreated,
    WebhookEventType,
    WebhookRead,
)
from service_kit.errors import Forbidden
from service_kit.events import EventHandler, event_data
from service_kit.webhooks import WebhookDelivery, WebhookPolicy, WebhookSubscription
from service_kit.webhooks import service as webhooks
from service_kit.webhooks.models import DeliveryStatus as KitStatus


def availability_handler(*, channel: str) -> EventHandler:
    """The consumer's handler for ``availability.changed`` of ``channel``."""

    async def apply_availability_changed(*, session: AsyncSession, event: CloudEvent) -> None:
        data = event_data(event=event, model=AvailabilityChangedV1)
        if data.channel != channel:
            return
        available = int(Decimal(data.available).to_integral_value(rounding=ROUND_FLOOR))
        repository = AvailabilityRepository(session)
        for listing in await repository.listings_of(data.sku):
            level = await repository.set_level(listing=listing, available=available, updated_at=event.time)
            if level is None:
                continue
            await webhooks.queue_event(
                session=session,
                owner=listing.partner_id,
                event_type=WebhookEventType.availability_changed,
                event_id=event.id,
                data=AvailabilityItem(
                    seller_sku=level.seller_sku, available=level.available, updated_at=level.updated_at
                ).model_dump(mode="json"),
                occurred_at=event.time,
            )

    return apply_availability_changed


async def read_availability_feed(*, session: AsyncSession, partner_id: str, since: str, limit: int) -> AvailabilityFeed:
    await _partner_account(session, partner_id)
    rows = await AvailabilityRepository(session).changes(partner_id=partner_id, since=int(since), limit=limit)
    items = [AvailabilityItem(seller_sku=r.seller_sku, available=r.available, updated_at=r.updated_at) for r in rows]
    return AvailabilityFeed(items=items, next_cursor=str(rows[-1].seq) if rows else str(int(since)))


async def register_webhook(
    *, session: AsyncSession, partner_id: str, body: WebhookCreate, policy: WebhookPolicy
) -> WebhookCreated:
    await _partner_account(session, partner_id)
    registered = await webhooks.register_subscription(
        session=session,
        owner=partner_id,
        url=body.url,
        event_types=[t.value for t in body.event_types],
        description=body.description,
        policy=policy,
    )
    return WebhookCreated(**_webhook(registered.subscription).model_dump(), secret=registered.secret)


async def list_webhooks(*, session: AsyncSession, partner_id: str) -> list[WebhookRead]:
    return [_webhook(s) for s in await webhooks.list_subscriptions(session=session, owner=partner_id)]


async def delete_webhook(*, session: AsyncSession, partner_id: str, webhook_id: str) -> None:
    await webhooks.delete_subscription(session=session, owner=partner_id, subscription_id=webhook_id)


async def list_webhook_deliveries(
    *, session: AsyncSession, partner_id: str, webhook_id: str, status: DeliveryStatus | None, limit: int
) -> list[DeliveryRead]:
    rows = await webhooks.list_deliveries(
        session=session,
        owner=partner_id,
        subscription_id=webhook_id,
        status=KitStatus(status.value) if status else None,
        limit=limit,
    )
    return _deliveries(rows)


async def replay_webhook_delivery(
    *, session: AsyncSession, partner_id: str, webhook_id: str, delivery_id: str
) -> DeliveryRead:
    row = await webhooks.replay_delivery(
        session=session, owner=partner_id, subscription_id=webhook_id, delivery_id=delivery_id
    )
    return _deliveries([row])[0]


def _webhook(subscription: WebhookSubscription) -> WebhookRead:
    return WebhookRead(
        id=subscription.id,
        url=subscription.url,
        event_types=[WebhookEventType(t) for t in subscription.event_types],
        description=subscription.description,
        created_at=subscription.created_at,
    )


def _deliveries(rows: Sequence[WebhookDelivery]) -> list[DeliveryRead]:
    return [
        DeliveryRead(
            id=d.id,
            event_type=WebhookEventType(d.event_type),
            status=DeliveryStatus(d.status),
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at if d.status == KitStatus.pending else None,
            last_error=d.last_error,
            last_status_code=d.last_status_code,
            created_at=d.created_at,
            delivered_at=d.delivered_at,
        )
        for d in rows
    ]


async def _partner_account(session: AsyncSession, partner_id: str) -> None:
    if await MarketplaceRepository(session).get_partner_account(partner_id) is None:
        raise Forbidden("This client is not set up as a marketplace partner.")
