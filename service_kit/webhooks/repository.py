"""All SQL of the webhook kit. The caller's session owns the transaction: nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from service_kit.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_subscription(self, subscription: WebhookSubscription) -> WebhookSubscription:
        self.session.add(subscription)
        await self.session.flush()
        return subscription

    async def subscriptions(self, *, owner: str) -> Sequence[WebhookSubscription]:
        stmt = (
            select(WebhookSubscription)
            .where(WebhookSubscription.owner == owner, WebhookSubscription.deleted_at.is_(None))
            .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
        )
        return (await self.session.scalars(stmt)).all()

    async def all_subscriptions(self) -> Sequence[WebhookSubscription]:
        """Every subscription of every owner, deleted ones too (re-sealing their secrets)."""
        return (await self.session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id))).all()

    async def subscription(self, *, owner: str, subscription_id: str) -> WebhookSubscription | None:
        row = await self.session.get(WebhookSubscription, subscription_id)
        if row is None or row.owner != owner or row.deleted_at is not None:
            return None
        return row

    async def subscribers(self, *, owner: str, event_type: str) -> list[WebhookSubscription]:
        # Event types are a short JSON list; filtering in Python keeps the SQL portable.
        return [s for s in await self.subscriptions(owner=owner) if event_type in s.event_types]

    async def enqueue(self, *, values: dict[str, Any]) -> None:
        """Queue a delivery unless this event is already queued for this subscription."""
        dialect = self.session.get_bind().dialect.name
        if dialect in {"sqlite", "postgresql"}:
            ins = sqlite.insert if dialect == "sqlite" else postgresql.insert
            await self.session.execute(ins(WebhookDelivery).values(values).on_conflict_do_nothing())
            return
        exists = await self.session.scalar(
            select(WebhookDelivery.id).where(
                WebhookDelivery.subscription_id == values["subscription_id"],
                WebhookDelivery.event_id == values["event_id"],
            )
        )
        if exists is None:
            self.session.add(WebhookDelivery(**values))
            await self.session.flush()

    async def deliveries(
        self, *, owner: str, subscription_id: str, status: str | None = None, limit: int = 100
    ) -> Sequence[WebhookDelivery]:
        stmt = select(WebhookDelivery).where(
            WebhookDelivery.owner == owner, WebhookDelivery.subscription_id == subscription_id
        )
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == status)
        stmt = stmt.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id).limit(limit)
        return (await self.session.scalars(stmt)).all()

    async def delivery(self, *, owner: str, subscription_id: str, delivery_id: str) -> WebhookDelivery | None:
        row = await self.session.get(WebhookDelivery, delivery_id)
        if row is None or row.owner != owner or row.subscription_id != subscription_id:
            return None
        return row

    async def due(self, *, now: datetime, limit: int) -> Sequence[WebhookDelivery]:
        stmt = (
            select(WebhookDelivery)
            .where(WebhookDelivery.status == DeliveryStatus.pending, WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def claim(self, *, delivery: WebhookDelivery, lease_until: datetime) -> bool:
        """Push the next attempt out to ``lease_until`` unless another worker already did: only
        the worker that moved it sends it (a crashed one's claim simply comes due again)."""
        result: Any = await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery.id,
                WebhookDelivery.status == DeliveryStatus.pending,
                WebhookDelivery.next_attempt_at == delivery.next_attempt_at,
            )
            .values(next_attempt_at=lease_until)
        )
        return bool(result.rowcount)

    async def get(self, delivery_id: str) -> WebhookDelivery | None:
        return await self.session.get(WebhookDelivery, delivery_id)

    async def subscription_by_id(self, subscription_id: str) -> WebhookSubscription | None:
        return await self.session.get(WebhookSubscription, subscription_id)


__all__ = ["WebhookRepository"]
