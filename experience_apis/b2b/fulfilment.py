"""Availability by warehouse, invoices and credit memos for a reseller (issue 12), in business terms.

Availability is the B2B channel's (its allocation rule in the inventory process), per warehouse.
Invoices and credit memos are read from the fulfilment process only for the reseller's own purchase
orders: the order is looked up through the orders process as the reseller first (another's, or
another channel's, is a 404 before anything is asked of the fulfilment process), then read with the
reseller forward. An order nothing has shipped of yet has no invoices, not a 404.
"""

from __future__ import annotations

from contracts import CreditMemo as ErpCreditMemo
from contracts import Return
from experience_apis.b2b import service
from experience_apis.b2b.clients import OrdersApi
from experience_apis.b2b.fulfilment_clients import FulfillmentApi, InventoryApi
from experience_apis.b2b.models import Reseller
from experience_apis.b2b.schemas_fulfilment import (
    Availability,
    CreditedLine,
    CreditMemo,
    CreditMemoList,
    InvoiceList,
    WarehouseAvailability,
)
from service_kit.errors import NotFound


async def availability(*, inventory: InventoryApi, channel: str, sku: str) -> Availability:
    stock = await inventory.by_warehouse(sku=sku, channel=channel)
    if stock is None:
        raise NotFound(f"No stock of {sku!r} is known in any warehouse; see the SKUs you can buy at /b2b/v1/catalog.")
    return Availability(
        sku=stock.sku,
        available=stock.available,
        warehouses=[WarehouseAvailability(warehouse=w.warehouse, available=w.available) for w in stock.warehouses],
    )


async def invoices(
    *, orders: OrdersApi, fulfillment: FulfillmentApi, account: Reseller, channel: str, order_id: str
) -> InvoiceList:
    order = await service.get_purchase_order(orders=orders, account=account, channel=channel, order_id=order_id)
    found = await fulfillment.invoices_of(order_id=order.order_id, partner_id=account.partner_id)
    return InvoiceList(items=sorted(found or [], key=lambda i: (i.issued_at, i.invoice_number)))


def _credit_memo(r: Return, number: str, erp: ErpCreditMemo | None) -> CreditMemo:
    """A credited return with the ERP memo's amounts when the fulfilment process has them (priced
    per SKU: a memo credits each SKU of a return at the price it was invoiced at)."""
    priced = {line.sku: line for line in erp.lines} if erp else {}
    lines = [
        CreditedLine(
            line_no=x.line_no,
            sku=x.sku,
            quantity=x.quantity,
            unit_price=priced[x.sku].unit_price if x.sku in priced else None,
            line_total=priced[x.sku].line_total if x.sku in priced else None,
        )
        for x in r.received_lines
    ]
    return CreditMemo(
        credit_memo_number=number,
        return_id=r.return_id,
        lines=lines,
        requested_at=r.created_at,
        total=erp.total if erp else None,
        currency=erp.currency if erp else None,
        issued_at=erp.issued_at if erp else None,
        invoice_number=erp.invoice_number if erp else None,
    )


async def credit_memos(
    *, orders: OrdersApi, fulfillment: FulfillmentApi, account: Reseller, channel: str, order_id: str
) -> CreditMemoList:
    order = await service.get_purchase_order(orders=orders, account=account, channel=channel, order_id=order_id)
    returns = await fulfillment.returns_of(order_id=order.order_id, partner_id=account.partner_id) or []
    credited = [r for r in sorted(returns, key=lambda r: (r.created_at, r.return_id)) if r.credit_memo_number]
    memos: dict[str, ErpCreditMemo] = {}
    if credited:
        found = await fulfillment.credit_memos_of(order_id=order.order_id, partner_id=account.partner_id) or []
        memos = {m.return_id: m for m in found}
    return CreditMemoList(
        items=[_credit_memo(r, r.credit_memo_number, memos.get(r.return_id)) for r in credited if r.credit_memo_number]
    )
