"""The reference ERP's billing: invoices (what a shipment delivered of a sales order, at its prices)
and credit memos (what a return sent back, against the invoice lines that billed it), numbered
INV-000001 and CM-000001, one per shipment and one per return."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import CreditMemo, Invoice, InvoiceLine, Quantity
from service_kit.errors import Conflict
from system_apis.erp.backend.mapping import _LINE_STEP, _UNIT_TO_CANONICAL, _utc, document_number, money
from system_apis.erp.models import (
    ErpCreditMemo,
    ErpCreditMemoLine,
    ErpInvoice,
    ErpInvoiceLine,
    ErpItem,
    ErpSalesOrder,
)
from system_apis.erp.schemas import BillingLineCreate, CreditMemoCreate, InvoiceCreate

_INVOICE = re.compile(r"^INV-(\d{6,})$")


def invoice_number(inv_no: int) -> str:
    return f"INV-{inv_no:06d}"


def credit_memo_number(cm_no: int) -> str:
    return f"CM-{cm_no:06d}"


class _Open:
    """A position still open to bill (a sales order line) or to credit (an invoice line)."""

    __slots__ = ("item_no", "key", "open_qty", "so_line_no", "unit_price_cents")

    def __init__(self, *, key: tuple[int, int], so_line_no: int, item_no: str, open_qty: int, price: int) -> None:
        self.key, self.so_line_no, self.item_no, self.open_qty, self.unit_price_cents = (
            key,
            so_line_no,
            item_no,
            open_qty,
            price,
        )


def _allocate(lines: Sequence[BillingLineCreate], positions: dict[str, list[_Open]]) -> list[tuple[_Open, int]]:
    """Spread each SKU's quantity over its open positions, first line first (the service checked it fits)."""
    taken: list[tuple[_Open, int]] = []
    for line in lines:
        wanted = int(line.quantity.amount)
        for position in positions.get(line.sku, []):
            take = min(wanted, position.open_qty)
            if take > 0:
                position.open_qty -= take
                wanted -= take
                taken.append((position, take))
        if wanted:
            raise Conflict(f"{line.sku}: more than is open; send it again.")
    return taken


class ReferenceBilling:
    session: AsyncSession

    async def _items(self, item_nos: Sequence[str]) -> dict[str, ErpItem]:
        stmt = select(ErpItem).where(ErpItem.item_no.in_(set(item_nos)))
        return {item.item_no: item for item in (await self.session.execute(stmt)).scalars()}

    async def _order(self, order_reference: str) -> ErpSalesOrder | None:
        stmt = select(ErpSalesOrder).where(ErpSalesOrder.ext_ref == order_reference)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def _lines(self, rows: Sequence[ErpInvoiceLine | ErpCreditMemoLine], currency: str) -> list[InvoiceLine]:
        items = await self._items([line.item_no for line in rows])
        return [
            InvoiceLine(
                line_no=line.so_line_no // _LINE_STEP,
                sku=items[line.item_no].catalog_sku,
                quantity=Quantity.of(line.qty, _UNIT_TO_CANONICAL[items[line.item_no].base_uom]),
                unit_price=money(line.unit_price_cents, currency),
                line_total=money(line.line_amount_cents, currency),
            )
            for line in rows
        ]

    async def _invoice(self, invoice: ErpInvoice) -> Invoice:
        order = await self.session.get(ErpSalesOrder, invoice.so_doc_no)
        assert order is not None  # a foreign key
        return Invoice(
            invoice_number=invoice_number(invoice.inv_no),
            order_id=order.ext_ref,
            erp_order_number=document_number(order.doc_no),
            shipment_id=invoice.shipment_ref,
            currency=invoice.currency,
            lines=await self._lines(invoice.lines, invoice.currency),
            total=money(sum(line.line_amount_cents for line in invoice.lines), invoice.currency),
            issued_at=_utc(invoice.posting_date),
        )

    async def _credit_memo(self, memo: ErpCreditMemo) -> CreditMemo:
        order = await self.session.get(ErpSalesOrder, memo.so_doc_no)
        assert order is not None  # a foreign key
        invoices = sorted({line.inv_no for line in memo.lines})
        return CreditMemo(
            credit_memo_number=credit_memo_number(memo.cm_no),
            order_id=order.ext_ref,
            erp_order_number=document_number(order.doc_no),
            return_id=memo.return_ref,
            invoice_number=invoice_number(invoices[0]) if len(invoices) == 1 else None,
            currency=memo.currency,
            lines=await self._lines(memo.lines, memo.currency),
            total=money(sum(line.line_amount_cents for line in memo.lines), memo.currency),
            issued_at=_utc(memo.posting_date),
        )

    async def lock_sales_order_for_billing(self, order_reference: str) -> bool:
        """Hold the sales order against other billing until this transaction ends; False: no such order.

        What is left to bill is read and then written: two shipments of one order billed at once must
        not both see the same quantity open. ``SELECT ... FOR UPDATE`` does that on PostgreSQL but is
        a no-op on SQLite, so this writes the row (to itself): the write takes SQLite's write lock
        (others wait, busy_timeout) and PostgreSQL's row lock, before anything is read."""
        stmt = (
            update(ErpSalesOrder)
            .where(ErpSalesOrder.ext_ref == order_reference)
            .values(doc_status=ErpSalesOrder.doc_status)
        )
        result = await self.session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of an UPDATE

    # Invoices.

    async def find_invoice(self, shipment_id: str) -> Invoice | None:
        invoice = await self.session.scalar(select(ErpInvoice).where(ErpInvoice.shipment_ref == shipment_id))
        return await self._invoice(invoice) if invoice else None

    async def get_invoice(self, number: str) -> Invoice | None:
        match = _INVOICE.match(number)
        invoice = await self.session.get(ErpInvoice, int(match.group(1))) if match else None
        return await self._invoice(invoice) if invoice else None

    async def find_invoices(self, order_reference: str) -> list[Invoice]:
        stmt = (
            select(ErpInvoice)
            .join(ErpSalesOrder, ErpSalesOrder.doc_no == ErpInvoice.so_doc_no)
            .where(ErpSalesOrder.ext_ref == order_reference)
            .order_by(ErpInvoice.inv_no)
        )
        return [await self._invoice(invoice) for invoice in (await self.session.execute(stmt)).scalars()]

    async def _open_to_invoice(self, order: ErpSalesOrder) -> dict[str, list[_Open]]:
        billed_stmt = (
            select(ErpInvoiceLine.so_line_no, func.sum(ErpInvoiceLine.qty))
            .join(ErpInvoice, ErpInvoice.inv_no == ErpInvoiceLine.inv_no)
            .where(ErpInvoice.so_doc_no == order.doc_no)
            .group_by(ErpInvoiceLine.so_line_no)
        )
        billed: dict[int, int] = {no: int(qty) for no, qty in (await self.session.execute(billed_stmt)).all()}
        items = await self._items([line.item_no for line in order.lines])
        positions: dict[str, list[_Open]] = defaultdict(list)
        for line in order.lines:
            positions[items[line.item_no].catalog_sku].append(
                _Open(
                    key=(order.doc_no, line.line_no),
                    so_line_no=line.line_no,
                    item_no=line.item_no,
                    open_qty=line.qty - billed.get(line.line_no, 0),
                    price=line.unit_price_cents,
                )
            )
        return positions

    async def open_to_invoice(self, order_reference: str) -> dict[str, Quantity]:
        """SKU -> ordered and not invoiced yet, for the sales order with this reference."""
        order = await self._order(order_reference)
        return _totals(await self._open_to_invoice(order)) if order else {}

    async def create_invoice(self, request: InvoiceCreate) -> Invoice:
        order = await self._order(request.order_reference)
        assert order is not None  # the service found it
        taken = _allocate(request.lines, await self._open_to_invoice(order))
        invoice = ErpInvoice(
            shipment_ref=request.shipment_id,
            so_doc_no=order.doc_no,
            currency=order.currency,
            posting_date=datetime.now(UTC),
            lines=[
                ErpInvoiceLine(
                    line_no=(index + 1) * _LINE_STEP,
                    so_line_no=position.so_line_no,
                    item_no=position.item_no,
                    qty=qty,
                    unit_price_cents=position.unit_price_cents,
                    line_amount_cents=qty * position.unit_price_cents,
                )
                for index, (position, qty) in enumerate(taken)
            ],
        )
        self.session.add(invoice)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise Conflict(f"Shipment {request.shipment_id!r} is being invoiced by another request.") from exc
        return await self._invoice(invoice)

    # Credit memos.

    async def find_credit_memo(self, return_id: str) -> CreditMemo | None:
        memo = await self.session.scalar(select(ErpCreditMemo).where(ErpCreditMemo.return_ref == return_id))
        return await self._credit_memo(memo) if memo else None

    async def find_credit_memos(self, order_reference: str) -> list[CreditMemo]:
        stmt = (
            select(ErpCreditMemo)
            .join(ErpSalesOrder, ErpSalesOrder.doc_no == ErpCreditMemo.so_doc_no)
            .where(ErpSalesOrder.ext_ref == order_reference)
            .order_by(ErpCreditMemo.cm_no)
        )
        return [await self._credit_memo(memo) for memo in (await self.session.execute(stmt)).scalars()]

    async def _open_to_credit(self, order: ErpSalesOrder) -> dict[str, list[_Open]]:
        credited_stmt = (
            select(ErpCreditMemoLine.inv_no, ErpCreditMemoLine.inv_line_no, func.sum(ErpCreditMemoLine.qty))
            .join(ErpCreditMemo, ErpCreditMemo.cm_no == ErpCreditMemoLine.cm_no)
            .where(ErpCreditMemo.so_doc_no == order.doc_no)
            .group_by(ErpCreditMemoLine.inv_no, ErpCreditMemoLine.inv_line_no)
        )
        credited = {(inv, no): int(qty) for inv, no, qty in (await self.session.execute(credited_stmt)).all()}
        billed_stmt = (
            select(ErpInvoiceLine)
            .join(ErpInvoice, ErpInvoice.inv_no == ErpInvoiceLine.inv_no)
            .where(ErpInvoice.so_doc_no == order.doc_no)
            .order_by(ErpInvoiceLine.inv_no, ErpInvoiceLine.line_no)
        )
        billed = list((await self.session.execute(billed_stmt)).scalars())
        items = await self._items([line.item_no for line in billed])
        positions: dict[str, list[_Open]] = defaultdict(list)
        for line in billed:
            positions[items[line.item_no].catalog_sku].append(
                _Open(
                    key=(line.inv_no, line.line_no),
                    so_line_no=line.so_line_no,
                    item_no=line.item_no,
                    open_qty=line.qty - credited.get((line.inv_no, line.line_no), 0),
                    price=line.unit_price_cents,
                )
            )
        return positions

    async def open_to_credit(self, order_reference: str) -> dict[str, Quantity]:
        """SKU -> invoiced and not credited yet, for the sales order with this reference."""
        order = await self._order(order_reference)
        return _totals(await self._open_to_credit(order)) if order else {}

    async def create_credit_memo(self, request: CreditMemoCreate) -> CreditMemo:
        order = await self._order(request.order_reference)
        assert order is not None  # the service found it
        taken = _allocate(request.lines, await self._open_to_credit(order))
        memo = ErpCreditMemo(
            return_ref=request.return_id,
            so_doc_no=order.doc_no,
            currency=order.currency,
            posting_date=datetime.now(UTC),
            lines=[
                ErpCreditMemoLine(
                    line_no=(index + 1) * _LINE_STEP,
                    inv_no=position.key[0],
                    inv_line_no=position.key[1],
                    so_line_no=position.so_line_no,
                    item_no=position.item_no,
                    qty=qty,
                    unit_price_cents=position.unit_price_cents,
                    line_amount_cents=qty * position.unit_price_cents,
                )
                for index, (position, qty) in enumerate(taken)
            ],
        )
        self.session.add(memo)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise Conflict(f"Return {request.return_id!r} is being credited by another request.") from exc
        return await self._credit_memo(memo)


def _totals(positions: dict[str, list[_Open]]) -> dict[str, Quantity]:
    return {sku: Quantity.of(sum(p.open_qty for p in found)) for sku, found in positions.items()}
