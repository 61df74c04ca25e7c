"""Shipments, invoices and returns of a partner's marketplace orders (issue 11), in business terms.

An order's fulfilment is the partner's that submitted it: the order is looked up among the
partner's own submitted orders first (another partner's, or none, is a 404 before anything is
asked of the fulfilment process), then read from or asked of the fulfilment process with the
partner forward. Canonical lines become the partner's seller SKUs by their order line.

``shipment.confirmed`` and ``return.credited`` events of this channel are consumed once each
(consumer group ``marketplace_fulfillment``) and queue a signed webhook delivery for each of the
order's partner's subscriptions, in the consumer's transaction (the kit's webhooks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from contracts import Invoice, Quantity, Return, ReturnCreate, ReturnLine, Shipment
from contracts.events import CloudEvent, ReturnCreditedV1, ShipmentConfirmedV1
from experience_apis.marketplace.fulfillment_client import FulfillmentApi
from experience_apis.marketplace.mapping import CHANNEL, whole
from experience_apis.marketplace.repository import MarketplaceRepository, SubmittedOrderRef
from experience_apis.marketplace.schemas_channel import WebhookEventType
from experience_apis.marketplace.schemas_fulfillment import (
    InvoiceLineV2,
    InvoiceListV2,
    InvoiceV2,
    ReturnCreateV2,
    ReturnLineCreateV2,
    ReturnStatusV2,
    ReturnV2,
    ShipmentListV2,
    ShipmentStatusV2,
    ShipmentV2,
    ShippedLineV2,
)
from experience_apis.marketplace.schemas_v2 import Money
from service_kit.errors import BusinessRuleViolation, Conflict, Forbidden, NotFound, UnprocessableContent
from service_kit.events import EventHandler, event_data
from service_kit.webhooks import service as webhooks

GROUP = "marketplace_fulfillment"
TYPES = frozenset({ShipmentConfirmedV1.event_type, ReturnCreditedV1.event_type})


async def _partners_order(
    repository: MarketplaceRepository[AsyncConnection], *, partner_id: str, marketplace_order_id: str
) -> SubmittedOrderRef:
    is_partner, order = await repository.find_partners_submitted_order(partner_id, marketplace_order_id)
    if not is_partner:
        raise Forbidden("This client is not set up as a marketplace partner.")
    if order is None:
        raise NotFound(f"This partner has submitted no order {marketplace_order_id!r}.")
    return order


def _seller_skus(items: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """Order line number -> the seller SKU the partner submitted on it (lines are numbered from 1
    in the order submitted)."""
    return {n: str(item["seller_sku"]) for n, item in enumerate(items, start=1)}


def _units(value: Any) -> int:
    return whole(Decimal(str(value)))


def _money(amount: Any, currency: str) -> Money:
    return Money(amount=f"{amount}", currency=currency)


def _shipment(shipment: Shipment, skus: Mapping[int, str]) -> ShipmentV2:
    return ShipmentV2(
        shipment_id=shipment.shipment_id,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        tracking_url=shipment.tracking_url,
        shipped_at=shipment.shipped_at,
        status=ShipmentStatusV2(shipment.status.value),
        invoice_number=shipment.invoice_number,
        lines=[
            ShippedLineV2(seller_sku=skus.get(line.line_no, line.sku), quantity=_units(line.quantity.value))
            for line in shipment.lines
        ],
    )


def _invoice(invoice: Invoice, skus: Mapping[int, str]) -> InvoiceV2:
    return InvoiceV2(
        invoice_number=invoice.invoice_number,
        shipment_id=invoice.shipment_id,
        issued_at=invoice.issued_at,
        lines=[
            InvoiceLineV2(
                seller_sku=skus.get(line.line_no, line.sku),
                quantity=_units(line.quantity.value),
                unit_price=_money(line.unit_price.amount, line.unit_price.currency),
                line_total=_money(line.line_total.amount, line.line_total.currency),
            )
            for line in invoice.lines
        ],
        total=_money(invoice.total.amount, invoice.total.currency),
    )


async def list_shipments(
    *,
    repository: MarketplaceRepository[AsyncConnection],
    fulfillment: FulfillmentApi,
    partner_id: str,
    marketplace_order_id: str,
) -> ShipmentListV2:
    order = await _partners_order(repository, partner_id=partner_id, marketplace_order_id=marketplace_order_id)
    found = await fulfillment.shipments_of(order_id=order.order_id, partner_id=partner_id) or []
    skus = _seller_skus(order.items)
    return ShipmentListV2(marketplace_order_id=marketplace_order_id, items=[_shipment(s, skus) for s in found])


async def list_invoices(
    *,
    repository: MarketplaceRepository[AsyncConnection],
    fulfillment: FulfillmentApi,
    partner_id: str,
    marketplace_order_id: str,
) -> InvoiceListV2:
    order = await _partners_order(repository, partner_id=partner_id, marketplace_order_id=marketplace_order_id)
    found = await fulfillment.invoices_of(order_id=order.order_id, partner_id=partner_id) or []
    skus = _seller_skus(order.items)
    return InvoiceListV2(marketplace_order_id=marketplace_order_id, items=[_invoice(i, skus) for i in found])


def _never_shipped() -> BusinessRuleViolation:
    return BusinessRuleViolation(
        "Nothing of this order has shipped yet; only goods shipped can be returned.",
        errors=[{"pointer": "#/lines", "in": "body", "detail": "Nothing of this order has shipped yet."}],
    )


def _return_lines(body: ReturnCreateV2, order: SubmittedOrderRef) -> list[ReturnLine]:
    """Each seller SKU on the order line that has it (the first, when the order has it twice)."""
    lines: dict[str, tuple[int, str]] = {}
    for n, item in enumerate(order.items, start=1):
        lines.setdefault(str(item["seller_sku"]), (n, str(item["sku"])))
    unknown = [
        {"pointer": f"#/lines/{i}/seller_sku", "in": "body", "detail": f"{line.seller_sku} is not on this order."}
        for i, line in enumerate(body.lines)
        if line.seller_sku not in lines
    ]
    if unknown:
        raise BusinessRuleViolation("A seller SKU to return is not on this order.", errors=unknown)
    return [
        ReturnLine(
            line_no=lines[line.seller_sku][0],
            sku=lines[line.seller_sku][1],
            quantity=Quantity(value=str(line.quantity), unit="EA"),
            reason=line.reason,
        )
        for line in body.lines
    ]


def _in_dialect(
    exc: UnprocessableContent | Conflict, body: ReturnCreateV2, *, partner_id: str
) -> UnprocessableContent | Conflict:
    """The fulfilment process's pointers (``#/lines/N/quantity``, ``#/return_id``) in this dialect's
    words, and the partner's own ``return_reference`` where it names the namespaced return id."""
    renamed = {"return_id": "return_reference", "line_no": "seller_sku", "sku": "seller_sku", "value": ""}
    errors = []
    for error in exc.errors or []:
        parts = [renamed.get(p, p) for p in str(error.get("pointer", "#")).removeprefix("#/").split("/")]
        errors.append({**error, "pointer": "#/" + "/".join(p for p in parts if p)})
    detail = exc.detail.replace(return_id_of(partner_id=partner_id, return_reference=""), "")
    return type(exc)(detail, errors=errors or None, headers=exc.headers)


def return_id_of(*, partner_id: str, return_reference: str) -> str:
    """The fulfilment process's id of a partner's return. Return ids are one space for every
    channel, return references each partner's own: namespaced by the partner, two partners' same
    reference are two returns and neither learns of the other's."""
    return f"{partner_id}:{return_reference}"


def return_reference_of(*, partner_id: str, return_id: str) -> str:
    """The partner's own reference of one of its returns (``return_id_of`` undone)."""
    return return_id.removeprefix(f"{partner_id}:")


def idempotency_key(*, partner_id: str, key: str) -> str:
    """The key the fulfilment API sees: the partner's own key, kept apart from every other partner's."""
    return f"marketplace:{partner_id}:{key}"


async def request_return(
    *,
    repository: MarketplaceRepository[AsyncConnection],
    fulfillment: FulfillmentApi,
    partner_id: str,
    marketplace_order_id: str,
    body: ReturnCreateV2,
    key: str,
) -> ReturnV2:
    order = await _partners_order(repository, partner_id=partner_id, marketplace_order_id=marketplace_order_id)
    rma = ReturnCreate(
        return_id=return_id_of(partner_id=partner_id, return_reference=body.return_reference),
        order_id=order.order_id,
        lines=_return_lines(body, order),
    )
    try:
        authorised = await fulfillment.request_return(
            rma=rma, partner_id=partner_id, idempotency_key=idempotency_key(partner_id=partner_id, key=key)
        )
    except (UnprocessableContent, Conflict) as exc:
        raise _in_dialect(exc, body, partner_id=partner_id) from exc
    if authorised is None:  # the fulfilment process knows nothing of the order: nothing shipped yet
        raise _never_shipped()
    return _return(
        authorised, partner_id=partner_id, marketplace_order_id=marketplace_order_id, skus=_seller_skus(order.items)
    )


def _return(found: Return, *, partner_id: str, marketplace_order_id: str, skus: Mapping[int, str]) -> ReturnV2:
    return ReturnV2(
        return_reference=return_reference_of(partner_id=partner_id, return_id=found.return_id),
        marketplace_order_id=marketplace_order_id,
        status=ReturnStatusV2(found.status.value),
        lines=[
            ReturnLineCreateV2(
                seller_sku=skus.get(line.line_no, line.sku), quantity=_units(line.quantity.value), reason=line.reason
            )
            for line in found.lines
        ],
        credit_memo_number=found.credit_memo_number,
        created_at=found.created_at,
    )


def fulfillment_handler(*, channel: str = CHANNEL) -> EventHandler:
    """The consumer's handler for ``shipment.confirmed`` and ``return.credited`` of ``channel``."""

    async def tell_partner(*, session: AsyncSession, event: CloudEvent) -> None:
        if event.type == ShipmentConfirmedV1.event_type:
            shipped = event_data(event=event, model=ShipmentConfirmedV1)
            if shipped.channel != channel or not shipped.partner:
                return
            skus = await _order_skus(session, partner_id=shipped.partner, marketplace_order_id=shipped.channel_order_id)
            data: dict[str, Any] = {
                "marketplace_order_id": shipped.channel_order_id,
                "shipment_id": shipped.shipment_id,
                "carrier": shipped.carrier,
                "tracking_number": shipped.tracking_number,
                "tracking_url": shipped.tracking_url,
                "invoice_number": shipped.invoice_number,
                "lines": [
                    {"seller_sku": skus.get(line.line_no or 0, line.sku), "quantity": _units(line.quantity)}
                    for line in shipped.lines
                ],
            }
            owner, kind = shipped.partner, WebhookEventType.shipment_confirmed
        else:
            credited = event_data(event=event, model=ReturnCreditedV1)
            if credited.channel != channel or not credited.partner:
                return
            data = {
                "marketplace_order_id": credited.channel_order_id,
                "return_reference": return_reference_of(partner_id=credited.partner, return_id=credited.return_id),
                "credit_memo_number": credited.credit_memo_number,
                "total": {"amount": credited.total, "currency": credited.currency},
            }
            owner, kind = credited.partner, WebhookEventType.return_credited
        await webhooks.queue_event(
            session=session, owner=owner, event_type=kind, event_id=event.id, data=data, occurred_at=event.time
        )

    return tell_partner


async def _order_skus(session: AsyncSession, *, partner_id: str, marketplace_order_id: str) -> dict[int, str]:
    _, order = await MarketplaceRepository(session).find_partners_submitted_order(partner_id, marketplace_order_id)
    return {} if order is None else _seller_skus(order.items)
