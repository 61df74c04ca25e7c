"""The B2B service's own table: who the resellers are and the ERP account each one buys on."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Reseller(Base):
    """A reseller (the ``partner_id`` of its clients' tokens) and its ERP customer account."""

    __tablename__ = "b2b_resellers"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
