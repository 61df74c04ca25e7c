"""The steps of the order flow, one function each: canonical order in, the system's document out.

Steps only talk to the tier below; they neither read nor write this service's database (the
saga records each result). Each raises ``Refused`` when the system says no for a business
reason and ``UpstreamUnavailable``/``UpstreamTimeout`` for a technical failure. Each is safe to
run again after a crash: the ERP and WMS find the earlier document by the order id, and the
activity is looked up before it is recorded.
"""

from __future__ import annotations

from contracts import (
    Order,
    Reservation,
    ReservationCreate,
    ReservationLineCreate,
    SalesOrder,
    SalesOrderCreate,
    SalesOrderLineCreate,
)
from process_apis.orders.clients import (
    Activity,
    ActivityCreate,
    CrmClient,
    ErpClient,
    PriceQuoteLineRequest,
    PriceQuoteRequest,
    PriceQuoteResult,
    WmsClient,
)
from service_kit.errors import UpstreamUnavailable

ORDER_ACCEPTED = "order_accepted"


async def price_order(*, erp: ErpClient, order: Order) -> PriceQuoteResult:
    """The customer's prices for every line (ERP price quote), line by line in order."""
    request = PriceQuoteRequest(
        customer_id=order.customer_id,
        currency=order.currency,
        lines=[PriceQuoteLineRequest(sku=line.sku, quantity=line.quantity) for line in order.lines],
    )
    quote = await erp.quote_prices(request, reference=order.id)
    if [q.sku for q in quote.lines] != [line.sku for line in order.lines]:
        raise UpstreamUnavailable("The erp service answered a price quote whose lines do not match the order.")
    return quote


async def reserve_stock(*, wms: WmsClient, order: Order) -> Reservation:
    """Stock for every line in one warehouse, under the order id as reference."""
    return await wms.reserve(
        ReservationCreate(
            reference=order.id,
            lines=[ReservationLineCreate(sku=line.sku, quantity=line.quantity) for line in order.lines],
        )
    )


async def create_sales_order(*, erp: ErpClient, order: Order) -> SalesOrder:
    """The ERP sales order at the prices quoted, with the order id as external reference."""
    lines = []
    for line in order.lines:
        if line.unit_price is None:
            raise ValueError(f"order {order.id} line {line.line_no} has no price; price_order runs first")
        lines.append(SalesOrderLineCreate(sku=line.sku, quantity=line.quantity, unit_price=line.unit_price))
    return await erp.create_sales_order(
        SalesOrderCreate(
            external_reference=order.id,
            customer_id=order.customer_id,
            currency=order.currency,
            lines=lines,
            ship_to=order.ship_to,
        )
    )


async def record_activity(*, crm: CrmClient, order: Order) -> Activity:
    """The "order accepted" entry on the customer's CRM timeline, once."""
    earlier = await crm.find_activity(customer_id=order.customer_id, kind=ORDER_ACCEPTED, reference=order.id)
    if earlier is not None:
        return earlier
    number = f" as ERP order {order.erp_order_number}" if order.erp_order_number else ""
    return await crm.record_activity(
        ActivityCreate(
            customer_id=order.customer_id,
            kind=ORDER_ACCEPTED,
            subject=f"Order {order.channel_order_id} ({order.channel}) accepted{number}"[:200],
            reference=order.id,
        )
    )


async def release_reservation(*, wms: WmsClient, order: Order) -> Reservation | None:
    """Compensation: gives the order's reserved stock back (nothing to do without a reservation)."""
    if order.reservation_id is None:
        return None
    return await wms.release(order.reservation_id)


__all__ = ["create_sales_order", "price_order", "record_activity", "release_reservation", "reserve_stock"]
