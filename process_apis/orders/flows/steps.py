"""The steps of the order saga, one function each, and the compensations of those that have one:

    step                   system  compensation
    price_order            ERP*    -
    check_credit           ERP*    -              (over the limit: on hold for review)
    reserve_stock          WMS     release_stock
    create_sales_order     ERP     cancel_sales_order   <- the pivot
    release_to_warehouse   WMS     cancel_picking
    record_activity        CRM     -

* priced and checked on the copy of the ERP's master data (``masterdata``): no ERP call unless
the copy is missing or stale. The pivot goes to the ERP in batches (``flows.pivot``), the
activity to the CRM in batches (``flows.activities``), the whole-order reservation and the pick
releases to the WMS in batches (``flows.wms_batches``; a split order's shipments, rare, one by one).

Steps only talk to the tier below; they neither read nor write this service's database (the saga
records each result). Each raises ``Refused`` when the system says no for a business reason and
``UpstreamUnavailable``/``UpstreamTimeout`` for a technical failure. Each is safe to run again
after a crash or a lost answer: the ERP and WMS find the earlier document by the order id, and
the CRM records one activity per customer, kind and reference. Compensations look documents up by reference
too, so one made by an attempt whose answer was lost is undone as well.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from contracts import (
    CustomerKind,
    Money,
    Order,
    PriceQuote,
    Quantity,
    Reservation,
    ReservationCreate,
    ReservationLineCreate,
    ReservationStatus,
    SalesOrder,
    SalesOrderCreate,
    SalesOrderLineCreate,
)
from process_apis.orders.clients import (
    Activity,
    ActivityCreate,
    ErpClient,
    InsufficientStock,
    PriceQuoteResult,
    Refused,
    WmsClient,
)
from process_apis.orders.flows import plan
from process_apis.orders.flows.activities import ActivityBatcher
from process_apis.orders.flows.pivot import PivotBatcher
from process_apis.orders.flows.wms_batches import PickReleaseBatcher, ReservationBatcher
from process_apis.orders.masterdata import MasterData
from service_kit.errors import UpstreamUnavailable

ORDER_ACCEPTED = "order_accepted"


def shipment_reference(order_id: str, number: int) -> str:
    """The WMS reference of a split order's n-th shipment (the whole order uses the order id)."""
    return f"{order_id}.{number}"


async def price_order(*, master: MasterData, erp: ErpClient, order: Order) -> PriceQuoteResult:
    """The customer's prices for every line, from its ERP price list (the copy kept current by
    the ERP's events; asked of the ERP when missing or stale). Refused as the ERP's quote would be."""
    terms = await master.terms(erp, order.customer_id)
    if terms is None:
        raise Refused("erp", f"No customer {order.customer_id!r} in the ERP.")
    if terms.customer.currency != order.currency:
        raise Refused("erp", f"Customer {order.customer_id!r} buys in {terms.customer.currency}, not {order.currency}.")
    prices = await master.prices(erp, terms.price_list)
    if prices is None or prices.currency != order.currency:
        raise UpstreamUnavailable(f"The ERP has no price list {terms.price_list} in {order.currency}.")
    lines: list[PriceQuote] = []
    for line in order.lines:
        price = prices.lines.get(line.sku)
        if price is None:
            raise Refused("erp", f"No item with SKU {line.sku!r} in the ERP.")
        if price.unit != line.quantity.unit:
            raise Refused("erp", f"{line.sku} is sold in {price.unit}, not {line.quantity.unit}.")
        lines.append(
            PriceQuote(
                customer_id=order.customer_id,
                sku=line.sku,
                quantity=line.quantity,
                unit_price=Money.of(price.unit_price, order.currency),
                line_total=Money.of(price.unit_price * line.quantity.amount, order.currency),
            )
        )
    total = sum((line.line_total.value for line in lines), Decimal(0))
    return PriceQuoteResult(
        customer_id=order.customer_id, currency=order.currency, lines=lines, total=Money.of(total, order.currency)
    )


@dataclass(frozen=True)
class CreditDecision:
    approved: bool
    detail: str


async def check_credit(
    *, master: MasterData, erp: ErpClient, order: Order, open_exposure: Callable[[], Awaitable[Decimal]]
) -> CreditDecision:
    """B2B accounts with a credit limit: the customer's open orders plus this one must stay
    within it. Others (consumers, accounts without a limit) pass. ``open_exposure`` is asked
    only when a limit applies (it sums the customer's open orders)."""
    terms = await master.terms(erp, order.customer_id)
    if terms is None:
        raise Refused("erp", f"customer {order.customer_id} is unknown to the ERP")
    customer = terms.customer
    if customer.kind is not CustomerKind.b2b or customer.credit_limit is None:
        return CreditDecision(True, "no credit limit applies")
    total = order.total.value if order.total else Decimal(0)
    opened = await open_exposure()
    exposure = opened + total
    limit = customer.credit_limit.value
    if exposure > limit:
        return CreditDecision(
            False,
            f"credit limit {limit} {customer.credit_limit.currency} exceeded: open orders {opened} "
            f"+ this order {total}; held for credit review",
        )
    return CreditDecision(True, f"within credit limit {limit} (exposure {exposure})")


async def reserve_stock(
    *, wms: WmsClient, reservations: ReservationBatcher, order: Order, split_allowed: bool
) -> list[Reservation]:
    """Stock for every line, by the rule in ``flows.plan``: the whole order from one warehouse
    (in a batch with other orders' reservations), else (only when allowed) split shipments. On a
    refusal nothing stays reserved by this step."""
    lines = [ReservationLineCreate(sku=line.sku, quantity=line.quantity) for line in order.lines]
    try:
        return [await reservations.reserve(ReservationCreate(reference=order.id, lines=lines))]
    except InsufficientStock:
        if not split_allowed:
            raise
    wanted = plan.demand([(line.sku, line.quantity.amount) for line in order.lines])
    positions = await wms.stock(list(wanted))
    shipments = plan.plan_split(wanted, positions)
    if shipments is None:
        short = plan.short_skus(wanted, positions)
        raise InsufficientStock("Not enough stock in all warehouses together.", skus=short)
    made: list[Reservation] = []
    try:
        for number, shipment in enumerate(shipments, start=1):
            request = ReservationCreate(
                reference=shipment_reference(order.id, number),
                lines=[
                    ReservationLineCreate(sku=sku, quantity=Quantity.of(qty))
                    for sku, qty in shipment.quantities.items()
                ],
            )
            made.append(await wms.reserve(request))
    except Refused:
        await release_stock(wms=wms, reservation_ids=[r.id for r in made], references=())
        raise
    return made


async def create_sales_order(*, pivot: PivotBatcher, order: Order) -> SalesOrder:
    """The pivot: the ERP sales order at the prices quoted, with the order id as external
    reference, so a retry finds the one booked before instead of booking a second. Posted in a
    batch with the other orders due for their pivot (``flows.pivot``)."""
    lines = []
    for line in order.lines:
        if line.unit_price is None:
            raise ValueError(f"order {order.id} line {line.line_no} has no price; price_order runs first")
        lines.append(SalesOrderLineCreate(sku=line.sku, quantity=line.quantity, unit_price=line.unit_price))
    return await pivot.book(
        SalesOrderCreate(
            external_reference=order.id,
            customer_id=order.customer_id,
            currency=order.currency,
            lines=lines,
            ship_to=order.ship_to,
        )
    )


async def release_to_warehouse(
    *, pick_releases: PickReleaseBatcher, reservation_ids: Sequence[str]
) -> list[Reservation]:
    """Every reservation goes to the warehouse floor for picking (in a batch with other orders')."""
    return [await pick_releases.release_for_picking(reservation_id) for reservation_id in reservation_ids]


async def record_activity(*, activities: ActivityBatcher, order: Order) -> Activity:
    """The "order accepted" entry on the customer's CRM timeline, once: the CRM records one per
    customer, kind and reference (the order id), so an entry sent again after a lost answer or a
    crash answers the activity recorded first. Posted in a batch with the other orders' entries
    (``flows.activities``)."""
    number = f" as ERP order {order.erp_order_number}" if order.erp_order_number else ""
    return await activities.record(
        ActivityCreate(
            customer_id=order.customer_id,
            kind=ORDER_ACCEPTED,
            subject=f"Order {order.channel_order_id} ({order.channel}) accepted{number}"[:200],
            reference=order.id,
        )
    )


# Compensations -------------------------------------------------------------------------------


async def cancel_picking(*, wms: WmsClient, reservation_ids: Sequence[str]) -> list[Reservation]:
    """Takes every reservation back off the floor; raises ``PickingTooLate`` once one is picked."""
    return [await wms.cancel_picking(reservation_id) for reservation_id in reservation_ids]


async def cancel_sales_order(*, erp: ErpClient, order_id: str, number: str | None) -> SalesOrder | None:
    """Cancels the order's ERP sales order, found by the order id when its number never came back."""
    if number is None:
        found = await erp.find_sales_order(order_id)
        if found is None:
            return None
        number = found.number
    return await erp.cancel_sales_order(number)


async def release_stock(*, wms: WmsClient, reservation_ids: Sequence[str], references: Sequence[str]) -> list[str]:
    """Gives the stock back: the reservations recorded, and any active one the WMS holds under the
    order's references (made by an attempt whose answer was lost). Returns what was released."""
    ids = list(dict.fromkeys(reservation_ids))
    for reference in references:
        for found in await wms.find_reservations(reference):
            if found.status is not ReservationStatus.released and found.id not in ids:
                ids.append(found.id)
    for reservation_id in ids:
        await wms.release(reservation_id)
    return ids


__all__ = [
    "CreditDecision",
    "cancel_picking",
    "cancel_sales_order",
    "check_credit",
    "create_sales_order",
    "price_order",
    "record_activity",
    "release_stock",
    "release_to_warehouse",
    "reserve_stock",
    "shipment_reference",
]
