"""WMS capabilities in business terms: warehouses, stock positions, and reserving and releasing
stock (once per reference, from one warehouse, never more than is available).

Each reservation operation is one unit of work (``system_apis.wms.units``): its reads and writes
run in one transaction, in the database's thread, against a ``WmsStore``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from contracts import InventoryPosition, Reservation, ReservationCreate, ReservationStatus
from service_kit.errors import BusinessRuleViolation, NotFound
from system_apis.wms import rules
from system_apis.wms.backend import StockShortage, WmsBackend, WmsStore
from system_apis.wms.errors import PickingTooLate
from system_apis.wms.models import ALLOCATED, PICK_RELEASED
from system_apis.wms.schemas import Warehouse
from system_apis.wms.units import Unit, UnitRunner

#: The store of a unit of work (the reference adapter's ``ReferenceStore``, or a real WMS's).
StoreFor = Callable[[Unit], WmsStore]


async def list_warehouses(*, backend: WmsBackend) -> list[Warehouse]:
    return await backend.list_warehouses()


async def stock_positions(*, backend: WmsBackend, skus: Sequence[str]) -> list[InventoryPosition]:
    return await backend.stock_positions(skus)


async def reserve_stock(*, units: UnitRunner, store: StoreFor, request: ReservationCreate) -> tuple[Reservation, bool]:
    """Reserve every line from one warehouse: ``(reservation, True)`` when reserved now,
    ``(existing, False)`` when the reference already holds an active reservation."""
    return await units.run(lambda unit: reserve(store=store(unit), request=request))


def reserve(*, store: WmsStore, request: ReservationCreate) -> tuple[Reservation, bool]:
    """Within a unit of work: ``reserve_stock``'s answer (the batch runs it once per entry)."""
    existing = store.find_active_reservation(request.reference)
    if existing is not None:
        return existing, False
    wanted = rules.demand(request.lines)
    warehouses, positions = store.reservation_candidates(list(wanted))
    choice = rules.choose_warehouse(wanted, positions, warehouses)
    if choice.short or choice.warehouse is None:
        raise rules.insufficient_stock(reference=request.reference, lines=request.lines, choice=choice, wanted=wanted)
    try:
        reservation = store.reserve(reference=request.reference, warehouse=choice.warehouse, lines=request.lines)
    except StockShortage as exc:  # taken by a concurrent reservation since we looked
        lost = rules.WarehouseChoice(choice.warehouse, exc.available)
        raise rules.insufficient_stock(
            reference=request.reference, lines=request.lines, choice=lost, wanted=wanted
        ) from exc
    return reservation, True


def _get(*, store: WmsStore, reservation_id: str) -> Reservation:
    reservation = store.get_reservation(reservation_id)
    if reservation is None:
        raise NotFound(f"No reservation {reservation_id!r} in the WMS.")
    return reservation


async def get_reservation(*, units: UnitRunner, store: StoreFor, reservation_id: str) -> Reservation:
    return await units.run(lambda unit: _get(store=store(unit), reservation_id=reservation_id))


async def find_reservations(*, units: UnitRunner, store: StoreFor, reference: str) -> list[Reservation]:
    return await units.run(lambda unit: store(unit).find_reservations(reference))


async def release_reservation(*, units: UnitRunner, store: StoreFor, reservation_id: str) -> Reservation:
    """Return the reserved stock; releasing a released reservation answers it as it is."""
    return await units.run(lambda unit: _release(store=store(unit), reservation_id=reservation_id))


def _release(*, store: WmsStore, reservation_id: str) -> Reservation:
    reservation = _get(store=store, reservation_id=reservation_id)
    if reservation.status is ReservationStatus.released:
        return reservation
    if reservation.status in (ReservationStatus.picking, ReservationStatus.picked):
        raise BusinessRuleViolation(
            f"Reservation {reservation_id} is on the warehouse floor ({reservation.status.value}); "
            "cancel picking first."
        )
    released = store.release(reservation_id)
    if released is None:
        raise NotFound(f"No reservation {reservation_id!r} in the WMS.")
    return released


async def release_for_picking(*, units: UnitRunner, store: StoreFor, reservation_id: str) -> Reservation:
    """Send the reserved goods to the floor for picking; again answers it as it is."""
    reservation, _ = await units.run(lambda unit: pick_release(store=store(unit), reservation_id=reservation_id))
    return reservation


def pick_release(*, store: WmsStore, reservation_id: str) -> tuple[Reservation, bool]:
    """Within a unit of work: the reservation sent to the floor, and whether it went now (False:
    it already was there)."""
    reservation = _get(store=store, reservation_id=reservation_id)
    if reservation.status is ReservationStatus.released:
        raise BusinessRuleViolation(f"Reservation {reservation_id} was released; there is nothing to pick.")
    if reservation.status is ReservationStatus.active:
        moved = store.set_floor_status(reservation_id, before=ALLOCATED, after=PICK_RELEASED)
        return moved or reservation, moved is not None and moved.status is ReservationStatus.picking
    return reservation, False


async def cancel_picking(*, units: UnitRunner, store: StoreFor, reservation_id: str) -> Reservation:
    """Take the goods back off the floor (the reservation stays, active); too late once picked."""
    return await units.run(lambda unit: _cancel_picking(store=store(unit), reservation_id=reservation_id))


def _cancel_picking(*, store: WmsStore, reservation_id: str) -> Reservation:
    reservation = _get(store=store, reservation_id=reservation_id)
    if reservation.status is ReservationStatus.picking:
        moved = store.set_floor_status(reservation_id, before=PICK_RELEASED, after=ALLOCATED)
        reservation = moved or reservation
    if reservation.status is ReservationStatus.picked:
        raise PickingTooLate(f"Reservation {reservation_id} is already picked; picking can no longer be cancelled.")
    return reservation
