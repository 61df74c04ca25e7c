"""The orders service's own tables: the order, its lines and the history of its status.

``partner_id`` is ``""`` (not NULL) for an order no partner submitted, so the natural key
``(channel, partner_id, channel_order_id)`` stays unique for those too (SQL treats NULLs as
distinct). The mapping to the canonical ``Order`` turns ``""`` back into ``None``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NO_PARTNER = ""


class Base(DeclarativeBase):
    pass


class SagaStep(StrEnum):
    """The next step the worker runs for a received order."""

    price_order = "price_order"
    reserve_stock = "reserve_stock"
    create_sales_order = "create_sales_order"
    record_activity = "record_activity"
    release_reservation = "release_reservation"  # compensation: the sales order was refused
    done = "done"


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("channel", "partner_id", "channel_order_id", name="uq_orders_channel_partner_order"),
        Index("ix_orders_due", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    channel_order_id: Mapped[str] = mapped_column(String(64))
    partner_id: Mapped[str] = mapped_column(String(64), default=NO_PARTNER)
    customer_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    ship_to: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    total_amount: Mapped[str | None] = mapped_column(String(32), nullable=True)
    erp_order_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reservation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Orchestration progress: the next step, retries and the reason a compensation is running for.
    saga_step: Mapped[str] = mapped_column(String(32), default=SagaStep.price_order.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    rejection_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    correlation_id: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list[OrderLineRow]] = relationship(
        back_populates="order", lazy="selectin", order_by="OrderLineRow.line_no", cascade="all, delete-orphan"
    )


class OrderLineRow(Base):
    __tablename__ = "order_lines"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(4))
    unit_price: Mapped[str | None] = mapped_column(String(32), nullable=True)
    line_total: Mapped[str | None] = mapped_column(String(32), nullable=True)
    warehouse: Mapped[str | None] = mapped_column(String(16), nullable=True)

    order: Mapped[OrderRow] = relationship(back_populates="lines")


class OrderStatusChange(Base):
    """One row per transition, the first one from nothing to ``received``."""

    __tablename__ = "order_status_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    correlation_id: Mapped[str] = mapped_column(String(128), default="")
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


__all__ = ["NO_PARTNER", "Base", "OrderLineRow", "OrderRow", "OrderStatusChange", "SagaStep"]
