"""Event contracts: the CloudEvents envelope and one data model per event type. Data only.

Published JSON Schemas live in ``contracts/events/schemas/<type>.json`` (generated from these
models by ``interchange.event_contracts``).
"""

from contracts.events.clients import ClientReinstatedV1, ClientRevokedV1
from contracts.events.envelope import CloudEvent, EventData, EventType
from contracts.events.fulfillment import (
    FulfillmentRequestedV1,
    ReturnCreditedV1,
    ShipmentConfirmedV1,
    WarehouseReturnReceivedV1,
    WarehouseShippedV1,
)
from contracts.events.masterdata import CustomerTermsChangedV1, PriceListChangedV1, PriceListLine
from contracts.events.order_progress import OrderCancelledV1, OrderHeldV1, OrderReleasedV1
from contracts.events.orders import OrderAcceptedV1, OrderRejectedV1
from contracts.events.stock import AvailabilityChangedV1, ItemChangedV1, ItemStatus, MovementKind, StockMovedV1

#: Every published event type and the model of its ``data``.
EVENT_TYPES: dict[str, type[EventData]] = {
    model.event_type: model
    for model in (StockMovedV1, ItemChangedV1, AvailabilityChangedV1, OrderAcceptedV1, OrderRejectedV1)
}
EVENT_TYPES |= {model.event_type: model for model in (CustomerTermsChangedV1, PriceListChangedV1)}
EVENT_TYPES |= {model.event_type: model for model in (OrderHeldV1, OrderReleasedV1, OrderCancelledV1)}
EVENT_TYPES |= {model.event_type: model for model in (ClientRevokedV1, ClientReinstatedV1)}
EVENT_TYPES |= {
    model.event_type: model
    for model in (
        FulfillmentRequestedV1,
        ShipmentConfirmedV1,
        ReturnCreditedV1,
        WarehouseShippedV1,
        WarehouseReturnReceivedV1,
    )
}

__all__ = [
    "EVENT_TYPES",
    "AvailabilityChangedV1",
    "ClientReinstatedV1",
    "ClientRevokedV1",
    "CloudEvent",
    "CustomerTermsChangedV1",
    "EventData",
    "EventType",
    "FulfillmentRequestedV1",
    "ItemChangedV1",
    "ItemStatus",
    "MovementKind",
    "OrderAcceptedV1",
    "OrderCancelledV1",
    "OrderHeldV1",
    "OrderRejectedV1",
    "OrderReleasedV1",
    "PriceListChangedV1",
    "PriceListLine",
    "ReturnCreditedV1",
    "ShipmentConfirmedV1",
    "StockMovedV1",
    "WarehouseReturnReceivedV1",
    "WarehouseShippedV1",
]
