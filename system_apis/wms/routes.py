"""HTTP only: parse, call one service function, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from contracts import Reservation, ReservationCreate
from contracts.common import Sku
from contracts.scopes import WMS_READ, WMS_WRITE
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.openapi import problem_doc
from system_apis.wms import batches, service
from system_apis.wms.backend import WmsBackend
from system_apis.wms.backend.reference import ReferenceWmsBackend
from system_apis.wms.backend.reference_store import ReferenceStore
from system_apis.wms.schemas import (
    PickReleaseBatchCreate,
    PickReleaseBatchResult,
    ReservationBatchCreate,
    ReservationBatchResult,
    ReservationList,
    StockList,
    WarehouseList,
)
from system_apis.wms.service import StoreFor
from system_apis.wms.units import UnitRunner


async def _backend(session: SessionDep) -> WmsBackend:
    return ReferenceWmsBackend(session)


async def _units(request: Request) -> UnitRunner:
    units: UnitRunner = request.app.state.wms_units  # built at start-up (app.prepare)
    return units


Backend = Annotated[WmsBackend, Depends(_backend)]
#: Reservations and receipts: one unit of work each, on the reference adapter's store.
Units = Annotated[UnitRunner, Depends(_units)]
STORE: StoreFor = ReferenceStore
WmsRead = Annotated[Principal, require(WMS_READ)]
WmsWrite = Annotated[Principal, require(WMS_WRITE)]
SkuQuery = Annotated[list[Sku], Query(min_length=1, max_length=100, description="One or more SKUs (at most 100)")]
ReservationId = Annotated[str, Path(min_length=1, max_length=32, examples=["RSV-000001"])]
Reference = Annotated[str, Query(min_length=1, max_length=100, examples=["ord_0001"])]

router = APIRouter(prefix="/v1", tags=["wms"])


@router.get("/warehouses", operation_id="listWarehouses")
async def list_warehouses(backend: Backend, _: WmsRead) -> WarehouseList:
    return WarehouseList(items=await service.list_warehouses(backend=backend))


@router.get("/stock", operation_id="listStock")
async def list_stock(sku: SkuQuery, backend: Backend, _: WmsRead) -> StockList:
    """One position per SKU and warehouse; SKUs the WMS does not stock are left out."""
    return StockList(items=await service.stock_positions(backend=backend, skus=sku))


@router.post(
    "/reservations",
    status_code=201,
    operation_id="reserveStock",
    responses={
        200: {"model": Reservation, "description": "The reference already holds this active reservation."},
        409: problem_doc("Another request is reserving for the same reference right now; send this one again."),
    },
)
async def reserve_stock(body: ReservationCreate, response: Response, units: Units, _: WmsWrite) -> Reservation:
    """Reserve every line from one warehouse: the one that can ship all lines in full, with most
    stock of the order's SKUs, then by code. When none can, 422 with type
    `urn:interchange:problem:insufficient-stock` and `errors` naming each short SKU."""
    reservation, created = await service.reserve_stock(units=units, store=STORE, request=body)
    if not created:
        response.status_code = 200
    return reservation


@router.get("/reservations/{reservation_id}", operation_id="getReservation")
async def get_reservation(reservation_id: ReservationId, units: Units, _: WmsRead) -> Reservation:
    return await service.get_reservation(units=units, store=STORE, reservation_id=reservation_id)


@router.get("/reservations", operation_id="findReservations")
async def find_reservations(reference: Reference, units: Units, _: WmsRead) -> ReservationList:
    return ReservationList(items=await service.find_reservations(units=units, store=STORE, reference=reference))


@router.post("/reservations/{reservation_id}/release", operation_id="releaseReservation")
async def release_reservation(reservation_id: ReservationId, units: Units, _: WmsWrite) -> Reservation:
    """Return the reserved stock; releasing it again answers the released reservation."""
    return await service.release_reservation(units=units, store=STORE, reservation_id=reservation_id)


@router.post(
    "/reservations/{reservation_id}/pick-release",
    operation_id="releaseReservationForPicking",
    responses={422: problem_doc("The reservation was released (its stock given back): nothing to pick.")},
)
async def release_for_picking(reservation_id: ReservationId, units: Units, _: WmsWrite) -> Reservation:
    """Send the reserved goods to the warehouse floor for picking (status `picking`); sending it
    again answers the reservation as it is."""
    return await service.release_for_picking(units=units, store=STORE, reservation_id=reservation_id)


@router.post(
    "/reservations/{reservation_id}/cancel-picking",
    operation_id="cancelPicking",
    responses={422: problem_doc("Too late: the goods are picked (type `urn:interchange:problem:picking-too-late`).")},
)
async def cancel_picking(reservation_id: ReservationId, units: Units, _: WmsWrite) -> Reservation:
    """Take the goods back off the floor: the reservation is `active` again (release it to give
    the stock back). A reservation not on the floor is answered as it is."""
    return await service.cancel_picking(units=units, store=STORE, reservation_id=reservation_id)


_MALFORMED_BATCH = problem_doc("The batch itself is malformed (no entries, more than 100, or an unreadable entry).")


@router.post("/reservation-batches", operation_id="reserveStockBatch", responses={422: _MALFORMED_BATCH})
async def reserve_stock_batch(body: ReservationBatchCreate, units: Units, _: WmsWrite) -> ReservationBatchResult:
    """Reserve stock for up to 100 references in one call, each once per reference and on its own,
    by the same rule as `POST /v1/reservations`: every entry gets its outcome (created, existing,
    refused with the problem the single call would answer, conflict), and a refused entry reserves
    nothing while the others are reserved. Sending a batch again never reserves twice."""
    return ReservationBatchResult(results=await batches.reserve_stock(units=units, store=STORE, entries=body.entries))


@router.post("/pick-release-batches", operation_id="releaseForPickingBatch", responses={422: _MALFORMED_BATCH})
async def release_for_picking_batch(body: PickReleaseBatchCreate, units: Units, _: WmsWrite) -> PickReleaseBatchResult:
    """Send up to 100 reservations to the warehouse floor for picking in one call, each on its own:
    released now, unchanged (already on the floor), or refused (unknown, or released: nothing to pick)."""
    ids = [entry.reservation_id for entry in body.entries]
    return PickReleaseBatchResult(
        results=await batches.release_for_picking(units=units, store=STORE, reservation_ids=ids)
    )
