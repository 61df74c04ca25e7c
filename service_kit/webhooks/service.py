"""Webhook subscriptions and deliveries in business terms, for any owner (a partner, a tenant).

Every function is scoped by ``owner``: another owner's subscription or delivery is not found, like
a missing one. The caller's session owns the transaction (the request's, or a consumer's), so a
delivery queued by ``queue_event`` commits with the change it reports: the delivery table is the
outbox of the webhooks.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service_kit.errors import Conflict, NotFound, UnprocessableContent
from service_kit.webhooks.delivery import WEBHOOK_DELIVERIES, WebhookPolicy
from service_kit.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from service_kit.webhooks.repository import WebhookRepository
from service_kit.webhooks.signing import new_secret
from service_kit.webhooks.targets import TargetRefused, check_target
from service_kit.workers import notify_after_commit


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RegisteredSubscription:
    """A new subscription and its signing secret in clear: the only time it is (the row keeps it
    sealed)."""

    subscription: WebhookSubscription
    secret: str


async def register_subscription(
    *,
    session: AsyncSession,
    owner: str,
    url: str,
    event_types: Sequence[str],
    description: str | None,
    policy: WebhookPolicy,
) -> RegisteredSubscription:
    """A new subscription with a fresh signing secret (stored sealed, returned in clear once); an
    unsafe ``url`` is a 422 at ``#/url``."""
    try:
        await check_target(url=url, allowlist=policy.allowlist, resolver=policy.resolver)
    except TargetRefused as exc:
        raise UnprocessableContent(str(exc), errors=[{"pointer": "#/url", "in": "body", "detail": str(exc)}]) from None
    secret = new_secret()
    subscription = WebhookSubscription(
        id=f"whsub_{uuid.uuid4().hex}",
        owner=owner,
        url=url,
        event_types=sorted(set(event_types)),
        secret=policy.secrets.seal(secret),
        description=description,
        created_at=_now(),
    )
    await WebhookRepository(session).add_subscription(subscription)
    return RegisteredSubscription(subscription=subscription, secret=secret)


async def list_subscriptions(*, session: AsyncSession, owner: str) -> Sequence[WebhookSubscription]:
    return await WebhookRepository(session).subscriptions(owner=owner)


async def delete_subscription(*, session: AsyncSession, owner: str, subscription_id: str) -> None:
    """Stop sending; deliveries still pending are parked as dead when their turn comes."""
    subscription = await _subscription(session=session, owner=owner, subscription_id=subscription_id)
    subscription.deleted_at = _now()
    await session.flush()


async def list_deliveries(
    *, session: AsyncSession, owner: str, subscription_id: str, status: DeliveryStatus | None, limit: int
) -> Sequence[WebhookDelivery]:
    await _subscription(session=session, owner=owner, subscription_id=subscription_id)
    return await WebhookRepository(session).deliveries(
        owner=owner, subscription_id=subscription_id, status=status, limit=limit
    )


async def replay_delivery(
    *, session: AsyncSession, owner: str, subscription_id: str, delivery_id: str
) -> WebhookDelivery:
    """Send a dead delivery again (same id, same body), starting the retry schedule afresh."""
    await _subscription(session=session, owner=owner, subscription_id=subscription_id)
    delivery = await WebhookRepository(session).delivery(
        owner=owner, subscription_id=subscription_id, delivery_id=delivery_id
    )
    if delivery is None:
        raise NotFound(f"No delivery {delivery_id!r} for this subscription.")
    if delivery.status != DeliveryStatus.dead:
        raise Conflict(f"Delivery {delivery_id!r} is {delivery.status}; only dead deliveries are replayed.")
    delivery.status = DeliveryStatus.pending
    delivery.attempts = 0
    delivery.next_attempt_at = _now()
    await session.flush()
    notify_after_commit(session=session, topic=WEBHOOK_DELIVERIES)
    return delivery


async def queue_event(
    *, session: AsyncSession, owner: str, event_type: str, event_id: str, data: dict[str, Any], occurred_at: datetime
) -> int:
    """Queue one delivery per subscription of ``owner`` to ``event_type`` (once per event id).
    The body is the Standard Webhooks payload ``{"type", "timestamp", "data"}``."""
    repository = WebhookRepository(session)
    body = json.dumps({"type": event_type, "timestamp": occurred_at.isoformat(), "data": data}, separators=(",", ":"))
    subscribers = await repository.subscribers(owner=owner, event_type=event_type)
    now = _now()
    for subscription in subscribers:
        await repository.enqueue(
            values={
                "id": f"msg_{uuid.uuid4().hex}",
                "subscription_id": subscription.id,
                "owner": owner,
                "event_id": event_id,
                "event_type": event_type,
                "body": body,
                "status": DeliveryStatus.pending,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    if subscribers:
        notify_after_commit(session=session, topic=WEBHOOK_DELIVERIES)
    return len(subscribers)


async def _subscription(*, session: AsyncSession, owner: str, subscription_id: str) -> WebhookSubscription:
    subscription = await WebhookRepository(session).subscription(owner=owner, subscription_id=subscription_id)
    if subscription is None:
        raise NotFound(f"No webhook subscription {subscription_id!r}.")
    return subscription


__all__ = [
    "RegisteredSubscription",
    "delete_subscription",
    "list_deliveries",
    "list_subscriptions",
    "queue_event",
    "register_subscription",
    "replay_delivery",
]
