"""Tables this service owns: who the marketplace partners are, what their seller SKUs mean, and
which canonical order each submitted marketplace order became."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class PartnerAccount(Base):
    """A marketplace partner (the token's ``partner_id``) and the ERP account its orders bill to."""

    __tablename__ = "marketplace_partner_accounts"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))


class Listing(Base):
    """One partner's seller SKU for one canonical SKU."""

    __tablename__ = "marketplace_listings"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seller_sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))


class SubmittedOrder(Base):
    """A marketplace order this service handed to the orders API, unique per partner. ``items``
    keeps what the partner sent per line (seller SKU, quantity, the channel's item price), so the
    status maps back to the partner's own SKUs; ``request_fingerprint`` tells a resubmission of
    the same order from a different order under a reused id."""

    __tablename__ = "marketplace_submitted_orders"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    marketplace_order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(100), unique=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AvailabilityLevel(Base):
    """What one partner's listing may sell now. ``seq`` is the feed cursor: every change takes the
    next number, so a partner polling ``since`` its last cursor sees each change once, in order."""

    __tablename__ = "marketplace_availability"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seller_sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    available: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seq: Mapped[int] = mapped_column(Integer, unique=True, index=True)


class PartnerFieldMapping(Base):
    """A partner's own order dialect (``dialect_mapping.DialectMapping``), stored with its account
    by an operator: its orders on ``POST /v2/dialect-orders`` are mapped to version 2 with it."""

    __tablename__ = "marketplace_partner_mappings"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
