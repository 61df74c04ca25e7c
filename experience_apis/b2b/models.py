"""The B2B service's own tables: who the resellers are and the ERP account each one buys on, and their quotes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Reseller(Base):
    """A reseller (the ``partner_id`` of its clients' tokens) and its ERP customer account."""

    __tablename__ = "b2b_resellers"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))


class Quote(Base):
    """The reseller's prices for some lines, held until ``valid_until`` (a purchase order may name it)."""

    __tablename__ = "b2b_quotes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    price_list: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    #: The priced lines as published (``QuoteLine`` in JSON).
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    total: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
