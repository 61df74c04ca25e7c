"""Availability by warehouse, invoices and credit memos for a reseller (issue 12), in business terms.

Availability is the B2B channel's (its allocation rule in the inventory process), per warehouse.
Invoices and credit memos are read from the fulfilment process only for the reseller's own purchase
orders: the order is looked up through the orders process as the reseller first (another's, or
another channel's, is a 404 before anything is asked of the fulfilment process), then read with the
reseller forward. An order nothing has shipped of yet has no invoices, not a 404.
"""

from __future__ import annotations

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


async def credit_memos(
    *, orders: OrdersApi, fulfillment: FulfillmentApi, account: Reseller, channel: str, order_id: str
) -> CreditMemoList:
    order = await service.get_purchase_order(orders=orders, account=account, channel=channel, order_id=order_id)
    returns = await fulfillment.returns_of(order_id=order.order_id, partner_id=account.partner_id) or []
    return CreditMemoList(
        items=[
            CreditMemo(
                credit_memo_number=r.credit_memo_number,
                return_id=r.return_id,
                lines=[CreditedLine(line_no=x.line_no, sku=x.sku, quantity=x.quantity) for x in r.received_lines],
                requested_at=r.created_at,
            )
            for r in sorted(returns, key=lambda r: (r.created_at, r.return_id))
            if r.credit_memo_number
        ]
    )
