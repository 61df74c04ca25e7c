"""HTTP only: receipts, adjustments, cycle counts and the versioned stock snapshot."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from contracts.common import Sku
from service_kit.openapi import problem_doc
from system_apis.wms import stock_service
from system_apis.wms.routes import STORE, Backend, Units, WmsRead, WmsWrite
from system_apis.wms.schemas import (
    AdjustmentCreate,
    CycleCountCreate,
    ReceiptCreate,
    StockMovementList,
    StockMovementRead,
    StockSnapshot,
)

router = APIRouter(prefix="/v1", tags=["wms"])

_RESENT = "This reference was booked before with the same content: what was booked."
_CONFLICT = problem_doc("The reference was booked with other content, or is being booked right now.")


@router.post(
    "/receipts",
    status_code=201,
    operation_id="receiveGoods",
    responses={
        200: {"model": StockMovementList, "description": _RESENT},
        409: _CONFLICT,
        422: problem_doc("Unknown warehouse, a unit the WMS does not stock, or a fractional quantity."),
    },
)
async def receive_goods(body: ReceiptCreate, response: Response, units: Units, _: WmsWrite) -> StockMovementList:
    """Book goods received into a warehouse: on hand goes up by each line; one `stock.moved`
    event (movement `receipt`) per SKU."""
    movements, created = await stock_service.receive_goods(units=units, store=STORE, receipt=body)
    if not created:
        response.status_code = 200
    return StockMovementList(items=movements)


@router.post(
    "/adjustments",
    status_code=201,
    operation_id="adjustStock",
    responses={
        200: {"model": StockMovementRead, "description": _RESENT},
        409: _CONFLICT,
        422: problem_doc("On hand would fall below what is reserved (so below zero), or an unknown warehouse."),
    },
)
async def adjust_stock(body: AdjustmentCreate, response: Response, backend: Backend, _: WmsWrite) -> StockMovementRead:
    """Correct on hand by a signed number of units, in one conditional update: never below the
    reserved quantity, never negative."""
    movement, created = await stock_service.adjust_stock(backend=backend, adjustment=body)
    if not created:
        response.status_code = 200
    return movement


@router.post(
    "/cycle-counts",
    status_code=201,
    operation_id="recordCycleCount",
    responses={
        200: {"model": StockMovementRead, "description": _RESENT},
        409: problem_doc("The position moved since `expected_version`, or while the count was booked: count again."),
        422: problem_doc("The count is below what is reserved, or an unknown warehouse."),
    },
)
async def record_cycle_count(
    body: CycleCountCreate, response: Response, backend: Backend, _: WmsWrite
) -> StockMovementRead:
    """Replace the book quantity by the counted one."""
    movement, created = await stock_service.record_count(backend=backend, count=body)
    if not created:
        response.status_code = 200
    return movement


@router.get("/stock-snapshot", operation_id="getStockSnapshot")
async def stock_snapshot(
    backend: Backend,
    _: WmsRead,
    after: Annotated[Sku | None, Query(description="The `next_after` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="SKUs per page")] = 100,
) -> StockSnapshot:
    """Every stock position with its version (the `entityversion` of its `stock.moved` events),
    page by page in SKU order: what a consumer seeds or reconciles its view of stock from."""
    return await stock_service.stock_snapshot(backend=backend, after=after, limit=limit)
