"""The reference WMS's own tables, in its native shape, as a real WMS keeps them: warehouses by
their own ids (WH01, WH02) with the site code the rest of the business uses (AMS, RTM), stock
balances per article and warehouse in EACH with an allocated quantity, and allocations (what the
API calls reservations) with their lines. backend/reference.py maps them to canonical objects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ALLOCATED, DEALLOCATED = "ALLOCATED", "DEALLOCATED"
#: Released to the floor for picking, and picked (too late to cancel).
PICK_RELEASED, PICKED = "PICK_RELEASED", "PICKED"


#: The movements booked once per reference and line (the partial unique index below). A query by
#: reference repeats this condition word for word: SQLite uses a partial index only for a query
#: whose WHERE clause contains the index's own condition.
BOOKED_ONCE = "kind IN ('receipt', 'adjustment', 'cycle_count')"


class Base(DeclarativeBase):
    pass


class WmsWarehouse(Base):
    __tablename__ = "wms_warehouses"

    whse_id: Mapped[str] = mapped_column(String(10), primary_key=True)  # "WH01"
    whse_name: Mapped[str] = mapped_column(String(100))
    site_code: Mapped[str] = mapped_column(String(10), unique=True)  # "AMS": the canonical code


class WmsWarehouseOperator(Base):
    """A warehouse run by a partner (a 3PL), by its partner id; a warehouse with no row here is run
    by the business itself."""

    __tablename__ = "wms_warehouse_operators"

    whse_id: Mapped[str] = mapped_column(ForeignKey("wms_warehouses.whse_id"), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64))


class WmsStock(Base):
    __tablename__ = "wms_stock"
    __table_args__ = (
        CheckConstraint("qty_allocated >= 0 AND qty_allocated <= qty_on_hand", name="ck_wms_stock_never_oversold"),
    )

    whse_id: Mapped[str] = mapped_column(ForeignKey("wms_warehouses.whse_id"), primary_key=True)
    article: Mapped[str] = mapped_column(String(64), primary_key=True)  # the catalog SKU
    uom: Mapped[str] = mapped_column(String(10))  # "EACH"
    qty_on_hand: Mapped[int] = mapped_column(Integer)
    qty_allocated: Mapped[int] = mapped_column(Integer, default=0)
    last_movement_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Bumped by every movement of this SKU in this warehouse: the ``entityversion`` of its
    #: stock.moved events, so a consumer can ignore an event older than one it applied.
    movement_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class WmsAllocation(Base):
    __tablename__ = "wms_allocations"
    __table_args__ = (
        # One live allocation per order reference (allocated, on the floor or picked); a
        # deallocated one does not block a new one.
        Index(
            "uq_wms_allocations_open_ref",
            "order_ref",
            unique=True,
            sqlite_where=text(f"alloc_status != '{DEALLOCATED}'"),
            postgresql_where=text(f"alloc_status != '{DEALLOCATED}'"),
        ),
    )

    alloc_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_ref: Mapped[str] = mapped_column(String(100), index=True)
    whse_id: Mapped[str] = mapped_column(ForeignKey("wms_warehouses.whse_id"))
    alloc_status: Mapped[str] = mapped_column(String(16))  # ALLOCATED | PICK_RELEASED | PICKED | DEALLOCATED
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lines: Mapped[list[WmsAllocationLine]] = relationship(
        order_by="WmsAllocationLine.line_no", lazy="selectin", cascade="all, delete-orphan"
    )


class WmsAllocationLine(Base):
    __tablename__ = "wms_allocation_lines"

    alloc_no: Mapped[int] = mapped_column(ForeignKey("wms_allocations.alloc_no"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    article: Mapped[str] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(Integer)
    uom: Mapped[str] = mapped_column(String(10))


class WmsStockMovement(Base):
    """The movement journal: one row per change to a stock balance, as a WMS keeps its
    transaction history. Receipts, adjustments and counts are unique per reference and line,
    which makes sending one again harmless."""

    __tablename__ = "wms_stock_movements"
    __table_args__ = (
        Index(
            "uq_wms_movements_ref",
            "kind",
            "reference",
            "whse_id",
            "article",
            unique=True,
            sqlite_where=text(BOOKED_ONCE),
            postgresql_where=text(BOOKED_ONCE),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    whse_id: Mapped[str] = mapped_column(String(10))
    article: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    qty_delta: Mapped[int] = mapped_column(Integer)
    on_hand_after: Mapped[int] = mapped_column(Integer)
    allocated_after: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str | None] = mapped_column(String(129), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


#: Conditions of returned goods: sellable goes back on hand, damaged is recorded only.
SELLABLE, DAMAGED = "SELLABLE", "DAMAGED"


class WmsShipment(Base):
    """Goods that left a warehouse for an order (the reference), taken from its allocation."""

    __tablename__ = "wms_shipments"

    ship_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_ref: Mapped[str] = mapped_column(String(129), unique=True)  # the shipper's id: once each
    order_ref: Mapped[str] = mapped_column(String(100), index=True)
    whse_id: Mapped[str] = mapped_column(ForeignKey("wms_warehouses.whse_id"))
    carrier: Mapped[str] = mapped_column(String(64))
    tracking_no: Mapped[str] = mapped_column(String(64))
    shipped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WmsShipmentLine(Base):
    __tablename__ = "wms_shipment_lines"

    ship_no: Mapped[int] = mapped_column(ForeignKey("wms_shipments.ship_no"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    alloc_no: Mapped[int] = mapped_column(ForeignKey("wms_allocations.alloc_no"), index=True)  # what it consumed
    article: Mapped[str] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(Integer)
    uom: Mapped[str] = mapped_column(String(10))


class WmsReturnReceipt(Base):
    """Returned goods received into a warehouse for an order (the reference)."""

    __tablename__ = "wms_return_receipts"

    rr_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    return_ref: Mapped[str] = mapped_column(String(129), unique=True)  # the return's id: once each
    order_ref: Mapped[str] = mapped_column(String(100), index=True)
    whse_id: Mapped[str] = mapped_column(ForeignKey("wms_warehouses.whse_id"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WmsReturnReceiptLine(Base):
    __tablename__ = "wms_return_receipt_lines"

    rr_no: Mapped[int] = mapped_column(ForeignKey("wms_return_receipts.rr_no"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    article: Mapped[str] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(Integer)
    uom: Mapped[str] = mapped_column(String(10))
    condition: Mapped[str] = mapped_column(String(10))  # SELLABLE | DAMAGED
