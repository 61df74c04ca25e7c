"""HTTP only: a channel's availability of one SKU by warehouse (``warehouse_availability``)."""

from __future__ import annotations

from fastapi import APIRouter

from process_apis.inventory.routes import Channel, InventoryRead, Settings, SkuPath
from process_apis.inventory.warehouse_availability import SkuWarehouseAvailability, availability_by_warehouse
from service_kit.db import SessionDep
from service_kit.openapi import problem_doc

router = APIRouter(prefix="/v1", tags=["inventory"])


@router.get(
    "/availability/{sku}/warehouses",
    operation_id="getAvailabilityByWarehouse",
    responses={404: problem_doc("No stock of this SKU is known."), 422: problem_doc("Unknown channel.")},
)
async def get_availability_by_warehouse(
    sku: SkuPath, channel: Channel, session: SessionDep, settings: Settings, _: InventoryRead
) -> SkuWarehouseAvailability:
    """What the channel may sell of the SKU now, in total and from each warehouse its rule counts."""
    return await availability_by_warehouse(session=session, rules=settings.channels, sku=sku, channel=channel)
