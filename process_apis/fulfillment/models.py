"""The fulfilment process's tables: the released orders it knows (and asks the orders process
about), fulfilment requests for 3PL partners, shipments and returns (each a saga row on the kit's
runtime, ``service_kit.saga``), and the audit of replays from the exception queue."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from service_kit.saga.exceptions import ReplayAuditColumns, SagaColumns


class Base(DeclarativeBase):
    pass


class OrderStep(StrEnum):
    """A released order's saga: read it from the orders process, ask its 3PL partners to ship."""

    request_fulfilment = "request_fulfilment"
    done = "done"


class ShipmentStep(StrEnum):
    check_order = "check_order"  # the order exists, is not cancelled, the lines are on it
    ship_in_wms = "ship_in_wms"  # stock leaves the warehouse (skipped when the WMS told us)
    invoice = "invoice"  # ERP invoice; shipment.confirmed staged with it
    notify_customer = "notify_customer"  # CRM customer notice
    done = "done"


class ReturnStep(StrEnum):
    receive_in_wms = "receive_in_wms"  # sellable goods back on hand (skipped when the WMS told us)
    credit = "credit"  # ERP credit memo; return.credited staged with it
    notify_customer = "notify_customer"
    done = "done"


class ReleasedOrderRow(SagaColumns, Base):
    """An order released to its warehouse(s), as the orders process describes it."""

    __tablename__ = "released_orders"
    __table_args__ = (Index("ix_released_orders_saga_due", "saga_active", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str | None] = mapped_column(String(32))
    channel_order_id: Mapped[str | None] = mapped_column(String(64))
    partner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64))
    erp_order_number: Mapped[str | None] = mapped_column(String(64))
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: [{line_no, sku, quantity, warehouse}] once read from the orders process.
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    ship_to: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    correlation_id: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FulfillmentRequestRow(Base):
    __tablename__ = "fulfillment_requests"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    partner_id: Mapped[str] = mapped_column(String(64), index=True)
    warehouse: Mapped[str] = mapped_column(String(32))
    #: [{line_no, sku, quantity, shipped_quantity}]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    ship_to: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ShipmentRow(SagaColumns, Base):
    __tablename__ = "shipments"
    __table_args__ = (Index("ix_shipments_saga_due", "saga_active", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(129), primary_key=True)  # the shipper's shipment id
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[str | None] = mapped_column(String(40), index=True)
    partner_id: Mapped[str | None] = mapped_column(String(64))  # the 3PL that posted it
    warehouse: Mapped[str] = mapped_column(String(32))
    carrier: Mapped[str] = mapped_column(String(64))
    tracking_number: Mapped[str] = mapped_column(String(64))
    tracking_url: Mapped[str | None] = mapped_column(String(500))
    shipped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: [{line_no, sku, quantity}] (line_no None until the order is read, for the WMS's own shipments)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(Text)
    #: The WMS already recorded it (its own shipment, told by its event): no ``ship_in_wms`` step.
    wms_recorded: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The order's channel and the partner that placed it (read at ``check_order``).
    channel: Mapped[str | None] = mapped_column(String(32))
    channel_order_id: Mapped[str | None] = mapped_column(String(64))
    order_partner_id: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    invoice_number: Mapped[str | None] = mapped_column(String(64))
    invoice: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    correlation_id: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReturnRow(SagaColumns, Base):
    __tablename__ = "returns"
    __table_args__ = (Index("ix_returns_saga_due", "saga_active", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(129), primary_key=True)  # the channel's return id
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    order_partner_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(32))
    channel_order_id: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    #: [{line_no, sku, quantity, reason}] authorised; [{line_no, sku, quantity, condition}] received
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    received_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    warehouse: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(Text)
    wms_recorded: Mapped[bool] = mapped_column(Boolean, default=False)
    credit_memo_number: Mapped[str | None] = mapped_column(String(64))
    credit_memo: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    correlation_id: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FulfillmentReplay(ReplayAuditColumns, Base):
    """One replay from the exception queue: ``kind`` shipment | return | order, ``subject_id`` its id."""

    __tablename__ = "fulfillment_replays"

    kind: Mapped[str] = mapped_column(String(20))
    #: A shipment or return id (namespaced by partner: up to 129), wider than the kit's 64.
    subject_id: Mapped[str] = mapped_column(String(129), index=True)


__all__ = [
    "Base",
    "FulfillmentReplay",
    "FulfillmentRequestRow",
    "OrderStep",
    "ReleasedOrderRow",
    "ReturnRow",
    "ReturnStep",
    "ShipmentRow",
    "ShipmentStep",
]
