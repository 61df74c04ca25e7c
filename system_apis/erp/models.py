"""The reference ERP's own tables, in its native shape, as a real ERP keeps them: item numbers
(100-2001) with a cross-reference to the catalog SKU, base units (PCS), prices in integer cents,
price lists as a discount in basis points, customers by group, and sales orders as numbered
documents with lines numbered 10, 20, 30. backend/reference.py maps them to canonical objects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class ErpItem(Base):
    __tablename__ = "erp_items"

    item_no: Mapped[str] = mapped_column(String(20), primary_key=True)
    catalog_sku: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # item reference
    description: Mapped[str] = mapped_column(String(200))
    base_uom: Mapped[str] = mapped_column(String(10))  # "PCS"
    list_price_cents: Mapped[int] = mapped_column(Integer)
    price_currency: Mapped[str] = mapped_column(String(3))
    sales_blocked: Mapped[bool] = mapped_column(Boolean, default=False)  # discontinued


class ErpPriceList(Base):
    __tablename__ = "erp_price_lists"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    description: Mapped[str] = mapped_column(String(200))
    discount_bp: Mapped[int] = mapped_column(Integer)  # basis points off list: 1000 = 10.00 %


class ErpCustomer(Base):
    __tablename__ = "erp_customers"

    customer_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    customer_group: Mapped[str] = mapped_column(String(10))  # "RETAIL" | "TRADE"
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    currency: Mapped[str] = mapped_column(String(3))
    credit_limit_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    price_list_code: Mapped[str | None] = mapped_column(ForeignKey("erp_price_lists.code"), nullable=True)


class ErpSalesOrder(Base):
    __tablename__ = "erp_sales_orders"

    doc_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ext_ref: Mapped[str] = mapped_column(String(100), unique=True)
    customer_no: Mapped[str] = mapped_column(ForeignKey("erp_customers.customer_no"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    doc_status: Mapped[str] = mapped_column(String(1))  # "O" open | "X" cancelled
    ship_to_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    order_date: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lines: Mapped[list[ErpSalesOrderLine]] = relationship(
        order_by="ErpSalesOrderLine.line_no", lazy="selectin", cascade="all, delete-orphan"
    )


class ErpSalesOrderLine(Base):
    __tablename__ = "erp_sales_order_lines"

    doc_no: Mapped[int] = mapped_column(ForeignKey("erp_sales_orders.doc_no"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)  # 10, 20, 30...
    item_no: Mapped[str] = mapped_column(ForeignKey("erp_items.item_no"))
    qty: Mapped[int] = mapped_column(Integer)  # in the item's base unit
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    line_amount_cents: Mapped[int] = mapped_column(Integer)


class ErpItemPlanning(Base):
    """The item's planning data (an ERP's MRP view): the safety stock kept back from sale, and a
    change counter that versions the item.changed events. No row: no safety stock, version 0."""

    __tablename__ = "erp_item_planning"

    item_no: Mapped[str] = mapped_column(ForeignKey("erp_items.item_no"), primary_key=True)
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)  # in the item's base unit
    change_seq: Mapped[int] = mapped_column(Integer, default=0)


class ErpMasterVersion(Base):
    """Change counters of the master data the ERP announces (``customer/<no>``, ``pricelist/<code>``):
    the ``entityversion`` of their events, and the version their snapshots carry."""

    __tablename__ = "erp_master_versions"

    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    change_seq: Mapped[int] = mapped_column(Integer, default=0)


class ErpInvoice(Base):
    """A billing document for what one shipment delivered of a sales order (numbered INV-000001)."""

    __tablename__ = "erp_invoices"

    inv_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_ref: Mapped[str] = mapped_column(String(129), unique=True)  # one invoice per shipment
    so_doc_no: Mapped[int] = mapped_column(ForeignKey("erp_sales_orders.doc_no"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    posting_date: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lines: Mapped[list[ErpInvoiceLine]] = relationship(
        order_by="ErpInvoiceLine.line_no", lazy="selectin", cascade="all, delete-orphan"
    )


class ErpInvoiceLine(Base):
    __tablename__ = "erp_invoice_lines"

    inv_no: Mapped[int] = mapped_column(ForeignKey("erp_invoices.inv_no"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)  # 10, 20, 30...
    so_line_no: Mapped[int] = mapped_column(Integer)  # the sales order line it bills
    item_no: Mapped[str] = mapped_column(ForeignKey("erp_items.item_no"))
    qty: Mapped[int] = mapped_column(Integer)  # in the item's base unit
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    line_amount_cents: Mapped[int] = mapped_column(Integer)


class ErpCreditMemo(Base):
    """A credit for what one return sent back, against the invoices that billed it (CM-000001)."""

    __tablename__ = "erp_credit_memos"

    cm_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    return_ref: Mapped[str] = mapped_column(String(129), unique=True)  # one credit memo per return
    so_doc_no: Mapped[int] = mapped_column(ForeignKey("erp_sales_orders.doc_no"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    posting_date: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lines: Mapped[list[ErpCreditMemoLine]] = relationship(
        order_by="ErpCreditMemoLine.line_no", lazy="selectin", cascade="all, delete-orphan"
    )


class ErpCreditMemoLine(Base):
    __tablename__ = "erp_credit_memo_lines"

    cm_no: Mapped[int] = mapped_column(ForeignKey("erp_credit_memos.cm_no"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)  # 10, 20, 30...
    inv_no: Mapped[int] = mapped_column(ForeignKey("erp_invoices.inv_no"), index=True)  # the invoice it credits
    inv_line_no: Mapped[int] = mapped_column(Integer)
    so_line_no: Mapped[int] = mapped_column(Integer)  # the sales order line the invoice line billed
    item_no: Mapped[str] = mapped_column(ForeignKey("erp_items.item_no"))
    qty: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    line_amount_cents: Mapped[int] = mapped_column(Integer)
