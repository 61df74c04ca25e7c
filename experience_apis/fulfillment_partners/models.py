"""The fulfilment partners service's own table: who the 3PL and drop-ship partners are and the
warehouse each one operates."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class FulfillmentPartner(Base):
    """A partner (the ``partner_id`` of its clients' tokens) and the warehouse it ships from: its
    return receipts and stock counts are for that warehouse."""

    __tablename__ = "fulfillment_partner_accounts"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    warehouse: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
