"""The 3PL dialect <-> canonical: requests and shipments read in the partner's words (``items`` of
``line``/``sku``/``qty``), ASNs and return receipts as canonical shipments and receipts, and the
fulfilment process's error pointers renamed to the dialect's fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from contracts import (
    FulfillmentRequest,
    Quantity,
    ReturnReceiptCreate,
    ReturnReceiptLine,
    Shipment,
    ShipmentCreate,
    ShipmentLine,
)
from contracts.events import FulfillmentRequestedV1
from contracts.fulfillment import FulfillmentRequestStatus
from experience_apis.fulfillment_partners.schemas import (
    AsnCreate,
    AsnItem,
    AsnRead,
    FulfillmentRequestRead,
    RequestItem,
)
from experience_apis.fulfillment_partners.schemas import (
    ReturnReceiptCreate as ReceiptInDialect,
)
from service_kit.errors import InterchangeError


def _units(value: Decimal | str) -> int:
    """Whole units (the 3PL counts EA); a fraction is rounded down, never up."""
    return int(Decimal(value))


def request_in_dialect(request: FulfillmentRequest) -> FulfillmentRequestRead:
    return FulfillmentRequestRead(
        request_id=request.request_id,
        order_reference=request.order_id,
        warehouse=request.warehouse,
        status=request.status,
        ship_to=request.ship_to,
        items=[
            RequestItem(
                line=line.line_no,
                sku=line.sku,
                qty=_units(line.quantity.value),
                shipped_qty=_units(line.shipped_quantity.value),
            )
            for line in request.lines
        ],
        created_at=request.created_at,
    )


def requested_in_dialect(event: FulfillmentRequestedV1, *, created_at: Any) -> FulfillmentRequestRead:
    """The webhook's ``data``: the new request as ``GET /v1/fulfillment-requests/{id}`` answers it."""
    return FulfillmentRequestRead(
        request_id=event.request_id,
        order_reference=event.order_id,
        warehouse=event.warehouse,
        status=FulfillmentRequestStatus.open,
        ship_to=event.ship_to,
        items=[
            RequestItem(line=line.line_no or n, sku=line.sku, qty=_units(line.quantity), shipped_qty=0)
            for n, line in enumerate(event.lines, start=1)
        ],
        created_at=created_at,
    )


def shipment_id_of(*, partner_id: str, asn_number: str) -> str:
    """The fulfilment process's id of a partner's ASN. Shipment ids are one space for every
    shipper (each 3PL and the WMS), ASN numbers are each partner's own: namespaced by the partner,
    two partners' same number are two shipments and neither learns of the other's."""
    return f"{partner_id}:{asn_number}"


def asn_number_of(*, partner_id: str, shipment_id: str) -> str:
    """The partner's own ASN number of one of its shipments (``shipment_id_of`` undone)."""
    return shipment_id.removeprefix(f"{partner_id}:")


def shipment_of(asn: AsnCreate, *, request: FulfillmentRequest, partner_id: str) -> ShipmentCreate:
    """The canonical shipment of an ASN for ``request``: its order and warehouse, each item in the
    unit of the request's line (EA when the line is not on the request: the fulfilment process
    refuses that line by its number)."""
    units = {line.line_no: line.quantity.unit for line in request.lines}
    return ShipmentCreate(
        shipment_id=shipment_id_of(partner_id=partner_id, asn_number=asn.asn_number),
        order_id=request.order_id,
        warehouse=request.warehouse,
        carrier=asn.carrier,
        tracking_number=asn.tracking,
        tracking_url=asn.tracking_url,
        shipped_at=asn.shipped_at,
        lines=[
            ShipmentLine(
                line_no=item.line, sku=item.sku, quantity=Quantity(value=str(item.qty), unit=units.get(item.line, "EA"))
            )
            for item in asn.items
        ],
    )


def asn_in_dialect(shipment: Shipment, *, partner_id: str) -> AsnRead:
    return AsnRead(
        asn_number=asn_number_of(partner_id=partner_id, shipment_id=shipment.shipment_id),
        order_reference=shipment.order_id,
        warehouse=shipment.warehouse,
        carrier=shipment.carrier,
        tracking=shipment.tracking_number,
        tracking_url=shipment.tracking_url,
        shipped_at=shipment.shipped_at,
        items=[AsnItem(line=line.line_no, sku=line.sku, qty=_units(line.quantity.value)) for line in shipment.lines],
        status=shipment.status,
        invoice_number=shipment.invoice_number,
        created_at=shipment.created_at,
    )


def receipt_of(receipt: ReceiptInDialect, *, warehouse: str) -> ReturnReceiptCreate:
    return ReturnReceiptCreate(
        warehouse=warehouse,
        received_at=receipt.received_at,
        lines=[
            ReturnReceiptLine(
                line_no=item.line,
                sku=item.sku,
                quantity=Quantity(value=str(item.qty), unit="EA"),
                condition=item.condition,
            )
            for item in receipt.items
        ],
    )


#: Canonical field names -> the dialect's, in error pointers (``#/lines/0/quantity`` -> ``#/items/0/qty``).
_FIELDS = {
    "lines": "items",
    "line_no": "line",
    "quantity": "qty",
    "shipment_id": "asn_number",
    "tracking_number": "tracking",
    "return_id": "rma_number",
    # The order and warehouse are the request's: a refusal of either is about the request named.
    "order_id": "request_id",
    "warehouse": "request_id",
}


def _pointer(pointer: str) -> str:
    if not pointer.startswith("#/"):
        return pointer
    parts = pointer[2:].split("/")
    if parts and parts[0] in ("order_id", "warehouse"):
        return "#/request_id"
    parts = [_FIELDS.get(part, part) for part in parts]
    if parts[-1] == "value" and len(parts) > 1 and parts[-2] == "qty":  # a Quantity's value is the dialect's qty
        parts = parts[:-1]
    return "#/" + "/".join(parts)


def in_dialect(exc: InterchangeError, *, partner_id: str) -> InterchangeError:
    """The fulfilment process's refusal with its pointers in this dialect's words."""
    errors = getattr(exc, "errors", None)
    if not errors:
        return type(exc)(_words(exc.detail, partner_id), headers=exc.headers)
    renamed = [
        {
            **error,
            "pointer": _pointer(str(error.get("pointer", "#"))),
            "detail": _words(str(error.get("detail", "")), partner_id),
        }
        for error in errors
    ]
    return type(exc)(_words(exc.detail, partner_id), errors=renamed, headers=exc.headers)


def _words(text: str, partner_id: str) -> str:
    """The process's wording of a refusal, in this dialect's terms where they differ (and the
    partner's own ASN number where it names the namespaced shipment id)."""
    text = text.replace(shipment_id_of(partner_id=partner_id, asn_number=""), "")
    return text.replace("shipment id", "ASN number").replace("shipment reference", "ASN number")


__all__ = [
    "asn_in_dialect",
    "asn_number_of",
    "in_dialect",
    "receipt_of",
    "request_in_dialect",
    "requested_in_dialect",
    "shipment_id_of",
    "shipment_of",
]
