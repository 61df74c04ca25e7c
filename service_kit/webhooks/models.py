"""The webhook tables, in their own metadata: a service that sends webhooks passes
``WebhooksBase.metadata`` to ``create_service_app(metadata=[...])``.

A subscription belongs to an ``owner`` (for the marketplace, the partner id): every read and
write is scoped by it. A delivery is one event for one subscription; its ``id`` is the
``webhook-id`` header, the same on every attempt, and ``body`` is fixed when it is queued, so every
retry sends the same bytes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class WebhooksBase(DeclarativeBase):
    pass


class DeliveryStatus(StrEnum):
    pending = "pending"  # queued or waiting for its next attempt
    delivered = "delivered"  # a 2xx answer
    dead = "dead"  # every attempt of the schedule failed; replayable


class WebhookSubscription(WebhooksBase):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    #: Sealed (``fernet:...``, service_kit.webhooks.secrets): never in clear at rest. Text: a
    #: sealed secret is about 150 characters.
    secret: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebhookDelivery(WebhooksBase):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the webhook-id header
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id"), index=True)
    owner: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # attempts since queued or replayed
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


__all__ = ["DeliveryStatus", "WebhookDelivery", "WebhookSubscription", "WebhooksBase"]
