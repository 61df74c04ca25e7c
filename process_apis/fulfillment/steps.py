"""The step tables of the three sagas (``saga.Saga``):

    released order:  request_fulfilment (read the order; a fulfilment request per 3PL warehouse)
    shipment:        check_order -> ship_in_wms (3PL only) -> invoice (+ shipment.confirmed) -> notify_customer
    return:          receive_in_wms (3PL / API only) -> credit (+ return.credited) -> notify_customer

Events are staged in the transaction that records the ERP's document, so the invoice number and
the event announcing it are written together or not at all.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import CreditMemo, Invoice, Order, OrderStatus
from contracts.events.fulfillment import (
    FulfillmentLine,
    FulfillmentRequestedV1,
    ReturnCreditedV1,
    ShipmentConfirmedV1,
)
from process_apis.fulfillment import repository
from process_apis.fulfillment.clients import FulfillmentClients, Refused
from process_apis.fulfillment.models import (
    FulfillmentRequestRow,
    ReleasedOrderRow,
    ReturnRow,
    ReturnStep,
    ShipmentRow,
    ShipmentStep,
)
from process_apis.fulfillment.saga import Held, Saga, Step, finish
from service_kit.events.envelopes import new_event
from service_kit.events.outbox import stage_event

SOURCE = "urn:interchange:process:fulfillment"
ENDED = (OrderStatus.cancelled, OrderStatus.rejected)


def _qty(line: dict[str, Any]) -> Decimal:
    return Decimal(line["quantity"]["value"])


def _event_lines(lines: list[dict[str, Any]]) -> list[FulfillmentLine]:
    return [
        FulfillmentLine(line_no=line.get("line_no"), sku=line["sku"], quantity=line["quantity"]["value"])
        for line in lines
    ]


# -- released orders ---------------------------------------------------------------------------


def order_lines(order: Order) -> list[dict[str, Any]]:
    return [
        {"line_no": line.line_no, "sku": line.sku, "quantity": line.quantity.model_dump(), "warehouse": line.warehouse}
        for line in order.lines
    ]


def remember_order(row: ReleasedOrderRow, order: Order) -> None:
    row.channel, row.channel_order_id, row.partner_id = order.channel, order.channel_order_id, order.partner_id
    row.customer_id, row.erp_order_number = order.customer_id, order.erp_order_number
    row.lines = order_lines(order)
    row.ship_to = order.ship_to.model_dump(mode="json") if order.ship_to else None
    row.cancelled = order.status in ENDED


async def _read_order(row: Any, clients: FulfillmentClients) -> Order:
    order = await clients.orders.get_order(row.order_id if hasattr(row, "order_id") else row.id)
    if order is None:
        raise Held(f"unknown order {getattr(row, 'order_id', row.id)}: the orders process has no such order")
    return order


def make_requests(
    session: AsyncSession, row: ReleasedOrderRow, *, partners: dict[str, str], at: datetime
) -> list[FulfillmentRequestRow]:
    """A fulfilment request for each warehouse of the order operated by a 3PL partner."""
    by_warehouse: dict[str, list[dict[str, Any]]] = {}
    for line in row.lines:
        for warehouse in (line.get("warehouse") or "").split("+"):
            if warehouse in partners:
                by_warehouse.setdefault(warehouse, []).append(line)
                break
    made = []
    for warehouse, lines in sorted(by_warehouse.items()):
        request = FulfillmentRequestRow(
            id=f"fr_{uuid.uuid4().hex[:20]}",
            order_id=row.id,
            partner_id=partners[warehouse],
            warehouse=warehouse,
            lines=[
                {"line_no": ln["line_no"], "sku": ln["sku"], "quantity": ln["quantity"], "shipped_quantity": None}
                for ln in lines
            ],
            ship_to=row.ship_to,
            status="open",
            created_at=at,
        )
        session.add(request)
        stage_event(
            session=session,
            event=new_event(
                data=FulfillmentRequestedV1(
                    request_id=request.id,
                    order_id=row.id,
                    channel=row.channel,
                    channel_order_id=row.channel_order_id,
                    partner=request.partner_id,
                    warehouse=warehouse,
                    lines=_event_lines(lines),
                    ship_to=row.ship_to,
                ),
                source=SOURCE,
                subject=f"fulfillment-request/{request.id}",
                correlation_id=row.correlation_id or None,
                time=at,
            ),
        )
        made.append(request)
    return made


def released_order_saga(*, partners: dict[str, str]) -> Saga:
    async def recorded(session: AsyncSession, row: Any, order: Order, at: datetime) -> None:
        remember_order(row, order)
        if not row.cancelled and not await repository.requests_of(session, order_id=row.id):
            make_requests(session, row, partners=partners, at=at)
        finish(row)

    return Saga(
        kind="order",
        model=ReleasedOrderRow,
        steps={"request_fulfilment": Step(perform=_read_order, record=recorded)},
    )


# -- shipments ---------------------------------------------------------------------------------


async def _check_order(row: ShipmentRow, clients: FulfillmentClients) -> Order:
    order = await _read_order(row, clients)
    if order.status in ENDED:
        raise Held(f"order {order.id} is {order.status.value}: nothing may ship for it")
    skus = {line.sku for line in order.lines}
    for line in row.lines:
        if line["sku"] not in skus:
            raise Held(f"{line['sku']} is not on order {order.id}")
    return order


async def _order_checked(session: AsyncSession, row: ShipmentRow, order: Order, at: datetime) -> None:
    row.channel, row.channel_order_id, row.order_partner_id = order.channel, order.channel_order_id, order.partner_id
    row.customer_id = order.customer_id
    by_sku = {line.sku: line.line_no for line in order.lines}
    lines = []
    for line in row.lines:
        lines.append({**line, "line_no": line.get("line_no") or by_sku[line["sku"]]})
    row.lines = lines
    row.saga_step = ShipmentStep.invoice.value if row.wms_recorded else ShipmentStep.ship_in_wms.value


async def _ship(row: ShipmentRow, clients: FulfillmentClients) -> None:
    await clients.wms.ship(
        shipment_id=row.id,
        order_id=row.order_id,
        warehouse=row.warehouse,
        carrier=row.carrier,
        tracking_number=row.tracking_number,
        lines=row.lines,
    )


async def _shipped(session: AsyncSession, row: ShipmentRow, _: Any, at: datetime) -> None:
    row.saga_step = ShipmentStep.invoice.value


async def _invoice(row: ShipmentRow, clients: FulfillmentClients) -> Invoice:
    return await clients.erp.invoice_shipment(shipment_id=row.id, order_id=row.order_id, lines=row.lines)


async def _invoiced(session: AsyncSession, row: ShipmentRow, invoice: Invoice, at: datetime) -> None:
    row.invoice_number, row.invoice = invoice.invoice_number, invoice.model_dump(mode="json")
    row.status, row.status_reason = "invoiced", None
    row.saga_step = ShipmentStep.notify_customer.value
    stage_event(
        session=session,
        event=new_event(
            data=ShipmentConfirmedV1(
                shipment_id=row.id,
                order_id=row.order_id,
                channel=row.channel or "unknown",
                channel_order_id=row.channel_order_id or row.order_id,
                partner=row.order_partner_id,
                warehouse=row.warehouse,
                carrier=row.carrier,
                tracking_number=row.tracking_number,
                tracking_url=row.tracking_url,
                lines=_event_lines(row.lines),
                invoice_number=invoice.invoice_number,
            ),
            source=SOURCE,
            subject=f"shipment/{row.id}",
            correlation_id=row.correlation_id or None,
            time=at,
        ),
    )


async def _notice(
    clients: FulfillmentClients, *, customer_id: str | None, kind: str, reference: str, message: str
) -> str | None:
    """The CRM's customer notice; its refusal (no such customer) is said, not a hold: the invoice or
    credit memo and the channel's event are done, and a missing notice needs no replay (as the
    orders saga treats a refused CRM activity)."""
    if not customer_id:
        return "no customer to notify"
    try:
        await clients.crm.notify_customer(customer_id=customer_id, kind=kind, reference=reference, message=message)
    except Refused as refusal:
        return f"the CRM refused the customer notice: {refusal.detail}"
    return None


async def _notify_shipped(row: ShipmentRow, clients: FulfillmentClients) -> str | None:
    order = row.channel_order_id or row.order_id
    message = f"Shipment {row.id} of order {order} left with {row.carrier}, tracking {row.tracking_number}."
    return await _notice(clients, customer_id=row.customer_id, kind="shipment", reference=row.id, message=message)


async def _notified(session: AsyncSession, row: Any, said: str | None, at: datetime) -> None:
    row.status = "notified" if isinstance(row, ShipmentRow) else "credited"
    row.status_reason = said
    finish(row)


def shipment_saga(*, invoice_answered: Any = None) -> Saga:
    return Saga(
        kind="shipment",
        model=ShipmentRow,
        steps={
            ShipmentStep.check_order.value: Step(perform=_check_order, record=_order_checked),
            ShipmentStep.ship_in_wms.value: Step(perform=_ship, record=_shipped),
            ShipmentStep.invoice.value: Step(perform=_invoice, record=_invoiced, answered=invoice_answered),
            ShipmentStep.notify_customer.value: Step(perform=_notify_shipped, record=_notified),
        },
    )


# -- returns -----------------------------------------------------------------------------------


async def _receive(row: ReturnRow, clients: FulfillmentClients) -> None:
    await clients.wms.receive_return(
        return_id=row.id, order_id=row.order_id, warehouse=row.warehouse or "", lines=row.received_lines
    )


async def _received(session: AsyncSession, row: ReturnRow, _: Any, at: datetime) -> None:
    row.saga_step = ReturnStep.credit.value


async def _credit(row: ReturnRow, clients: FulfillmentClients) -> CreditMemo:
    return await clients.erp.credit_return(return_id=row.id, order_id=row.order_id, lines=row.received_lines)


async def _credited(session: AsyncSession, row: ReturnRow, memo: CreditMemo, at: datetime) -> None:
    row.credit_memo_number, row.credit_memo = memo.credit_memo_number, memo.model_dump(mode="json")
    row.status, row.status_reason = "credited", None
    row.saga_step = ReturnStep.notify_customer.value
    stage_event(
        session=session,
        event=new_event(
            data=ReturnCreditedV1(
                return_id=row.id,
                order_id=row.order_id,
                channel=row.channel or "unknown",
                channel_order_id=row.channel_order_id or row.order_id,
                partner=row.order_partner_id,
                credit_memo_number=memo.credit_memo_number,
                total=memo.total.amount,
                currency=memo.currency,
            ),
            source=SOURCE,
            subject=f"return/{row.id}",
            correlation_id=row.correlation_id or None,
            time=at,
        ),
    )


async def _notify_credited(row: ReturnRow, clients: FulfillmentClients) -> str | None:
    message = (
        f"Return {row.id} of order {row.channel_order_id or row.order_id} was credited ({row.credit_memo_number})."
    )
    return await _notice(clients, customer_id=row.customer_id, kind="credit_memo", reference=row.id, message=message)


def return_saga(*, credit_memo_answered: Any = None) -> Saga:
    return Saga(
        kind="return",
        model=ReturnRow,
        steps={
            ReturnStep.receive_in_wms.value: Step(perform=_receive, record=_received),
            ReturnStep.credit.value: Step(perform=_credit, record=_credited, answered=credit_memo_answered),
            ReturnStep.notify_customer.value: Step(perform=_notify_credited, record=_notified),
        },
    )


__all__ = [
    "SOURCE",
    "make_requests",
    "order_lines",
    "released_order_saga",
    "remember_order",
    "return_saga",
    "shipment_saga",
]
