"""HTTP only: shipments and return receipts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from service_kit.openapi import problem_doc
from system_apis.wms import shipping
from system_apis.wms.backend.reference_shipping import ReferenceShippingStore
from system_apis.wms.routes import Reference, Units, WmsRead, WmsWrite
from system_apis.wms.shipping import ShippingStoreFor
from system_apis.wms.shipping_schemas import (
    WarehouseReturnReceipt,
    WarehouseReturnReceiptCreate,
    WarehouseReturnReceiptList,
    WarehouseShipment,
    WarehouseShipmentCreate,
    WarehouseShipmentList,
)

STORE: ShippingStoreFor = ReferenceShippingStore
ShipmentId = Annotated[str, Path(min_length=1, max_length=129, examples=["SHP-1"])]
ReturnId = Annotated[str, Path(min_length=1, max_length=129, examples=["RMA-1"])]

router = APIRouter(prefix="/v1", tags=["wms shipping"])


@router.post(
    "/shipments",
    status_code=201,
    operation_id="shipGoods",
    responses={
        200: {"model": WarehouseShipment, "description": "This shipment was booked before: what was booked."},
        404: problem_doc("The order has no reservation in that warehouse."),
        409: problem_doc("The shipment id was booked with other content, or is being booked right now."),
        422: problem_doc(
            "Nothing shipped: an unknown warehouse, a quantity not in whole EA, or more than is reserved there for "
            "the order and not shipped yet (`errors` names each line)."
        ),
    },
)
async def ship_goods(body: WarehouseShipmentCreate, response: Response, units: Units, _: WmsWrite) -> WarehouseShipment:
    """Goods left the warehouse for an order: taken from its reservation there (on hand and reserved
    down, one `stock.moved` per SKU, movement `shipment`; the reservation counts as picked), and
    announced as `com.interchange.warehouse.shipped.v1` unless `publish_event` is false."""
    shipment, created = await shipping.ship_goods(units=units, store=STORE, request=body)
    if not created:
        response.status_code = 200
    return shipment


@router.get("/shipments/{shipment_id}", operation_id="getShipment", responses={404: problem_doc("No such shipment.")})
async def get_shipment(shipment_id: ShipmentId, units: Units, _: WmsRead) -> WarehouseShipment:
    return await shipping.get_shipment(units=units, store=STORE, shipment_id=shipment_id)


@router.get("/shipments", operation_id="findShipments")
async def find_shipments(reference: Reference, units: Units, _: WmsRead) -> WarehouseShipmentList:
    """The shipments of one order, oldest first."""
    return WarehouseShipmentList(items=await shipping.find_shipments(units=units, store=STORE, reference=reference))


@router.post(
    "/return-receipts",
    status_code=201,
    operation_id="receiveReturn",
    responses={
        200: {"model": WarehouseReturnReceipt, "description": "This return was received before: what was booked."},
        404: problem_doc("Nothing was shipped for the order."),
        409: problem_doc("The return id was booked with other content, or is being booked right now."),
        422: problem_doc(
            "Nothing received: an unknown warehouse, a quantity not in whole EA, or more than was shipped for the "
            "order and not returned yet (`errors` names each line)."
        ),
    },
)
async def receive_return(
    body: WarehouseReturnReceiptCreate, response: Response, units: Units, _: WmsWrite
) -> WarehouseReturnReceipt:
    """Returned goods arrived: sellable ones back on hand (one `stock.moved` per SKU, movement `receipt`,
    the return id as reference), damaged ones recorded only; announced as
    `com.interchange.warehouse.return_received.v1` unless `publish_event` is false."""
    receipt, created = await shipping.receive_return(units=units, store=STORE, request=body)
    if not created:
        response.status_code = 200
    return receipt


@router.get(
    "/return-receipts/{return_id}", operation_id="getReturnReceipt", responses={404: problem_doc("No such receipt.")}
)
async def get_return_receipt(return_id: ReturnId, units: Units, _: WmsRead) -> WarehouseReturnReceipt:
    return await shipping.get_return_receipt(units=units, store=STORE, return_id=return_id)


@router.get("/return-receipts", operation_id="findReturnReceipts")
async def find_return_receipts(reference: Reference, units: Units, _: WmsRead) -> WarehouseReturnReceiptList:
    """The return receipts of one order, oldest first."""
    return WarehouseReturnReceiptList(
        items=await shipping.find_return_receipts(units=units, store=STORE, reference=reference)
    )
