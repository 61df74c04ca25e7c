"""New fulfilment requests as signed webhooks: ``fulfillment.requested`` events of the fulfilment
process are consumed once each (consumer group ``fulfillment_partners``, deduped by event id) and,
in the same transaction, queue a delivery for each of the request's partner's subscriptions (the
kit's webhooks: Standard Webhooks signatures, retries over days, dead letters and replay). The
subscriptions are managed here, each one scoped to the token's partner."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CloudEvent, FulfillmentRequestedV1
from experience_apis.fulfillment_partners import mapping
from experience_apis.fulfillment_partners.schemas_webhooks import (
    DeliveryRead,
    DeliveryStatus,
    WebhookCreate,
    WebhookCreated,
    WebhookEventType,
    WebhookRead,
)
from service_kit.events import event_data
from service_kit.webhooks import WebhookDelivery, WebhookPolicy, WebhookSubscription
from service_kit.webhooks import service as webhooks
from service_kit.webhooks.models import DeliveryStatus as KitStatus

GROUP = "fulfillment_partners"
TYPES = frozenset({FulfillmentRequestedV1.event_type})


async def announce_request(*, session: AsyncSession, event: CloudEvent) -> None:
    """The consumer's handler: one delivery per subscription of the request's partner."""
    data = event_data(event=event, model=FulfillmentRequestedV1)
    await webhooks.queue_event(
        session=session,
        owner=data.partner,
        event_type=WebhookEventType.fulfillment_requested,
        event_id=event.id,
        data=mapping.requested_in_dialect(data, created_at=event.time).model_dump(mode="json"),
        occurred_at=event.time,
    )


async def register_webhook(
    *, session: AsyncSession, partner_id: str, body: WebhookCreate, policy: WebhookPolicy
) -> WebhookCreated:
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
