"""The orders service's own tables: the order and its lines, its status history, its saga log,
its reservations in the WMS, the replays of parked orders, and its copy of the ERP's master data
(its events go through the kit's outbox).

``partner_id`` is ``""`` (not NULL) for an order no partner submitted, so the natural key
``(channel, partner_id, channel_order_id)`` stays unique for those too (SQL treats NULLs as
distinct). The mapping to the canonical ``Order`` turns ``""`` back into ``None``.

``orders.version`` is an optimistic lock (SQLAlchemy ``version_id_col``): the worker and a
request (a cancellation, a replay) never overwrite each other's change of the same order; the
loser gets ``StaleDataError`` and reads the order again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NO_PARTNER = ""


class Base(DeclarativeBase):
    pass


class SagaStep(StrEnum):
    """The next step the worker runs for an order whose saga is active."""

    price_order = "price_order"
    check_credit = "check_credit"
    reserve_stock = "reserve_stock"
    create_sales_order = "create_sales_order"  # the pivot
    release_to_warehouse = "release_to_warehouse"
    record_activity = "record_activity"
    # Compensations, run in reverse order of the steps they undo.
    cancel_picking = "cancel_picking"
    cancel_sales_order = "cancel_sales_order"
    release_stock = "release_stock"
    done = "done"


FORWARD_STEPS = (
    SagaStep.price_order,
    SagaStep.check_credit,
    SagaStep.reserve_stock,
    SagaStep.create_sales_order,
    SagaStep.release_to_warehouse,
    SagaStep.record_activity,
)
COMPENSATIONS = (SagaStep.cancel_picking, SagaStep.cancel_sales_order, SagaStep.release_stock)


class HoldKind(StrEnum):
    technical = "technical"  # retries ran out: the exception queue, replayed by a person
    credit_review = "credit_review"  # over the credit limit: reviewed by a person


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("channel", "partner_id", "channel_order_id", name="uq_orders_channel_partner_order"),
        Index("ix_orders_saga_due", "saga_active", "next_attempt_at"),
        Index("ix_orders_status_created", "status", "created_at"),
        # The ops lookup (lookup_repository): an order by any of its references, without a scan.
        Index("ix_orders_channel_order_id", "channel_order_id"),
        Index("ix_orders_erp_order_number", "erp_order_number"),
        Index("ix_orders_correlation_id", "correlation_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str] = mapped_column(String(32))
    channel_order_id: Mapped[str] = mapped_column(String(64))
    partner_id: Mapped[str] = mapped_column(String(64), default=NO_PARTNER)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    ship_to: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    split_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    total_amount: Mapped[str | None] = mapped_column(String(32), nullable=True)
    erp_order_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reservation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Orchestration progress: whether the worker should run the order, the next step, retries.
    saga_active: Mapped[bool] = mapped_column(Boolean, default=True)
    saga_step: Mapped[str] = mapped_column(String(32), default=SagaStep.price_order.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    #: The sales order was asked for at least once (its answer may have been lost).
    pivot_attempted: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The order reached its CRM activity (a record only: nothing has to look the activity up
    #: before sending it again, since the CRM's batch records one per customer, kind and reference).
    activity_attempted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Compensation: why it runs (rejection | cancellation), the steps still to run, the reason to
    # end with, and the forward step to go back to if a cancellation turns out to be too late.
    compensating_for: Mapped[str | None] = mapped_column(String(16), nullable=True)
    compensation: Mapped[list[str]] = mapped_column(JSON, default=list)
    rejection_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    resume_step: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Holds: which kind, the status to go back to, the step that failed and when.
    hold_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    held_from: Mapped[str | None] = mapped_column(String(16), nullable=True)
    failed_step: Mapped[str | None] = mapped_column(String(32), nullable=True)
    parked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    pending_replay_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Cancellation asked for by the channel, and how it ended when it could not be done.
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    cancel_outcome: Mapped[str | None] = mapped_column(String(500), nullable=True)
    correlation_id: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list[OrderLineRow]] = relationship(
        back_populates="order", lazy="selectin", order_by="OrderLineRow.line_no", cascade="all, delete-orphan"
    )
    reservations: Mapped[list[OrderReservationRow]] = relationship(
        lazy="selectin", order_by="OrderReservationRow.seq", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


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


class OrderReservationRow(Base):
    """One shipment's reservation in the WMS: one per order, or one per warehouse when split."""

    __tablename__ = "order_reservations"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(100))
    reservation_id: Mapped[str] = mapped_column(String(64))
    warehouse: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # active | picking | released
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class OrderStatusChange(Base):
    """One row per transition, the first one from nothing to ``received``."""

    __tablename__ = "order_status_history"
    __table_args__ = (Index("ix_order_status_history_correlation_id", "correlation_id"),)  # the ops lookup

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    correlation_id: Mapped[str] = mapped_column(String(128), default="")
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrderStepLog(Base):
    """One row per step the saga ran: succeeded, refused, failed (retrying), parked, compensated."""

    __tablename__ = "order_saga_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    correlation_id: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrderReplay(Base):
    """The audit of every replay: who asked, when, from which step, and how it ended."""

    __tablename__ = "order_replays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16), default="pending")  # pending | succeeded | failed | rejected
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class MasterCustomer(Base):
    """The ERP's terms for one customer, as of ``version`` (the ERP's change counter), confirmed
    current at ``refreshed_at`` (a snapshot, an event or a fallback call)."""

    __tablename__ = "master_customers"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer: Mapped[dict[str, Any]] = mapped_column(JSON)  # the canonical Customer
    price_list: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MasterPriceList(Base):
    """One ERP price list: SKU -> [net unit price, unit, status], as of ``version``."""

    __tablename__ = "master_price_lists"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    lines: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


__all__ = [
    "COMPENSATIONS",
    "FORWARD_STEPS",
    "NO_PARTNER",
    "Base",
    "HoldKind",
    "MasterCustomer",
    "MasterPriceList",
    "OrderLineRow",
    "OrderReplay",
    "OrderReservationRow",
    "OrderRow",
    "OrderStatusChange",
    "OrderStepLog",
    "SagaStep",
]
