"""Fulfilment events: a 3PL asked to ship (fulfilment process), goods shipped and returned goods
received (WMS, for the warehouses it operates itself), a shipment confirmed with its invoice and a
return credited (fulfilment process). ``subject``: ``shipment/<id>``, ``return/<id>`` or
``fulfillment-request/<id>``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import Field

from contracts.common import Address, CurrencyCode, Sku, UnitCode
from contracts.events.envelope import EventData
from contracts.events.stock import Channel, QuantityValue
from contracts.fulfillment import ReturnCondition

Reference = Annotated[str, Field(min_length=1, max_length=64)]
#: A shipment or return id (``contracts.fulfillment.ScopedReference``: a partner's reference may be
#: namespaced by its partner id).
ScopedReference = Annotated[str, Field(min_length=1, max_length=129)]
Warehouse = Annotated[str, Field(min_length=1, max_length=32, examples=["WH-3PL"])]
#: A decimal amount as a string, as in ``contracts.common.Money``.
Amount = Annotated[str, Field(pattern=r"^-?\d{1,12}(\.\d{1,4})?$", examples=["39.98"])]


class FulfillmentLine(EventData):
    """One line of an order as it is asked for, shipped or returned."""

    line_no: Annotated[
        int | None, Field(ge=1, description="The order line (absent when the sender does not know it)")
    ] = None
    sku: Sku
    quantity: QuantityValue
    unit: UnitCode = "EA"


class ReturnedLine(FulfillmentLine):
    condition: ReturnCondition


class FulfillmentRequestedV1(EventData):
    """A 3PL partner is asked to ship an order (or its part) from the warehouse it operates."""

    event_type: ClassVar[str] = "com.interchange.fulfillment.requested.v1"

    request_id: Reference
    order_id: Reference
    channel: Channel | None = None
    channel_order_id: Reference | None = None
    partner: Annotated[str, Field(min_length=1, max_length=64, description="The 3PL partner that ships it")]
    warehouse: Warehouse
    lines: Annotated[list[FulfillmentLine], Field(min_length=1)]
    ship_to: Address | None = None


class ShipmentConfirmedV1(EventData):
    """A shipment left a warehouse and was invoiced: the channel is told, with carrier and tracking.
    ``partner``: the channel's partner that placed the order."""

    event_type: ClassVar[str] = "com.interchange.shipment.confirmed.v1"

    shipment_id: ScopedReference
    order_id: Reference
    channel: Channel
    channel_order_id: Reference
    partner: str | None = None
    warehouse: Warehouse
    carrier: Reference
    tracking_number: Reference
    tracking_url: str | None = None
    lines: Annotated[list[FulfillmentLine], Field(min_length=1)]
    invoice_number: str | None = None


class ReturnCreditedV1(EventData):
    """Returned goods were received and the ERP issued a credit memo. ``partner``: the channel's partner."""

    event_type: ClassVar[str] = "com.interchange.return.credited.v1"

    return_id: ScopedReference
    order_id: Reference
    channel: Channel
    channel_order_id: Reference
    partner: str | None = None
    credit_memo_number: str
    total: Amount
    currency: CurrencyCode


class WarehouseShippedV1(EventData):
    """The WMS shipped goods from a warehouse it operates (stock left the building). ``reference``: the order id."""

    event_type: ClassVar[str] = "com.interchange.warehouse.shipped.v1"

    shipment_id: ScopedReference
    reference: Reference
    warehouse: Warehouse
    carrier: Reference
    tracking_number: Reference
    lines: Annotated[list[FulfillmentLine], Field(min_length=1)]
    shipped_at: datetime


class WarehouseReturnReceivedV1(EventData):
    """The WMS received returned goods (sellable ones back on hand). ``reference``: the order id."""

    event_type: ClassVar[str] = "com.interchange.warehouse.return_received.v1"

    return_id: ScopedReference
    reference: Reference
    warehouse: Warehouse
    lines: Annotated[list[ReturnedLine], Field(min_length=1)]
    received_at: datetime


__all__ = [
    "FulfillmentLine",
    "FulfillmentRequestedV1",
    "ReturnCreditedV1",
    "ReturnedLine",
    "ShipmentConfirmedV1",
    "WarehouseReturnReceivedV1",
    "WarehouseShippedV1",
]
