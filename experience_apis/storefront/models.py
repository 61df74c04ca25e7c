"""Tables this service owns: the storefront's item ids for canonical SKUs, one push state per
SKU (the latest level to send: pushes coalesce per SKU), the audit of dead-letter replays, and the
order webhooks' side: each shop (its sealed signing secret and the account it orders for), each
webhook delivery taken (unique: a replay changes nothing) and each storefront order's latest
update (the out-of-order guard) with its canonical order."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class PushStatus(StrEnum):
    pending = "pending"  # a level waits to be pushed (or retried)
    synced = "synced"  # the storefront has the latest level
    dead = "dead"  # every retry failed, or the SKU has no storefront item: replay once fixed


class StorefrontItem(Base):
    __tablename__ = "storefront_items"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    inventory_item_id: Mapped[int] = mapped_column(BigInteger)


class InventoryPush(Base):
    __tablename__ = "storefront_inventory_pushes"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    available: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)  # +1 per level received; a push settles the version it sent
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    pushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PushReplayRecord(Base):
    """The audit of a dead push replayed: who asked, when and why."""

    __tablename__ = "storefront_push_replays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StorefrontShop(Base):
    """A shop that sends order webhooks: its signing secret, sealed (``service_kit.secrets``), and
    the account, partner and currency its orders are taken in under."""

    __tablename__ = "storefront_shops"

    shop_domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    webhook_secret: Mapped[str] = mapped_column(Text)  # fernet:<token>
    partner_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))


class WebhookDelivery(Base):
    """A webhook delivery taken in: the storefront retries a delivery under the same id."""

    __tablename__ = "storefront_webhook_deliveries"

    delivery_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    shop_domain: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(32))
    storefront_order_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # what it did: submitted, cancelled, recorded, stale
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StorefrontOrder(Base):
    """A storefront order as last heard of: its ``updated_at`` there (an older update never
    overwrites a newer one) and the canonical order it became."""

    __tablename__ = "storefront_orders"

    shop_domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    storefront_order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)


class FulfilmentPush(Base):
    """A shipment of a storefront order, to be told to the shop as a fulfilment: one per shipment id
    (a redelivered ``shipment.confirmed`` finds it and adds nothing), retried on the schedule, then dead."""

    __tablename__ = "storefront_fulfilment_pushes"

    shipment_id: Mapped[str] = mapped_column(String(129), primary_key=True)  # may be namespaced by the 3PL
    storefront_order_id: Mapped[str] = mapped_column(String(64), index=True)
    order_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # the shop's fulfilment (JSON), as it is sent
    status: Mapped[str] = mapped_column(String(16), index=True)  # a PushStatus: pending, synced, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    pushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    fulfillment_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # the shop's id for it


class FulfilmentReplayRecord(Base):
    """The audit of a dead fulfilment push replayed: who asked, when and why."""

    __tablename__ = "storefront_fulfilment_replays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_id: Mapped[str] = mapped_column(String(129), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
