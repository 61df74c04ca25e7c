"""WMS capabilities in business terms: warehouses, stock positions, and reserving and releasing
stock (once per reference, from one warehouse, never more than is available)."""

from __future__ import annotations

from collections.abc import Sequence

from contracts import InventoryPosition, Reservation, ReservationCreate, ReservationStatus
from service_kit.errors import BusinessRuleViolation, NotFound
from system_apis.wms import rules
from system_apis.wms.backend import StockShortage, WmsBackend
from system_apis.wms.errors import PickingTooLate
from system_apis.wms.models import ALLOCATED, PICK_RELEASED
from system_apis.wms.schemas import Warehouse


async def list_warehouses(*, backend: WmsBackend) -> list[Warehouse]:
    return await backend.list_warehouses()


async def stock_positions(*, backend: WmsBackend, skus: Sequence[str]) -> list[InventoryPosition]:
    return await backend.stock_positions(skus)


async def reserve_stock(*, backend: WmsBackend, request: ReservationCreate) -> tuple[Reservation, bool]:
    """Reserve every line from one warehouse: ``(reservation, True)`` when reserved now,
    ``(existing, False)`` when the reference already holds an active reservation."""
    existing = await backend.find_active_reservation(request.reference)
    if existing is not None:
        return existing, False
    wanted = rules.demand(request.lines)
    warehouses, positions = await backend.reservation_candidates(list(wanted))
    choice = rules.choose_warehouse(wanted, positions, warehouses)
    if choice.short or choice.warehouse is None:
        raise rules.insufficient_stock(reference=request.reference, lines=request.lines, choice=choice, wanted=wanted)
    try:
        reservation = await backend.reserve(
            reference=request.reference, warehouse=choice.warehouse, lines=request.lines
        )
    except StockShortage as exc:  # taken by a concurrent reservation since we looked
        lost = rules.WarehouseChoice(choice.warehouse, exc.available)
        raise rules.insufficient_stock(
            reference=request.reference, lines=request.lines, choice=lost, wanted=wanted
        ) from exc
    return reservation, True


async def get_reservation(*, backend: WmsBackend, reservation_id: str) -> Reservation:
    reservation = await backend.get_reservation(reservation_id)
    if reservation is None:
        raise NotFound(f"No reservation {reservation_id!r} in the WMS.")
    return reservation


async def find_reservations(*, backend: WmsBackend, reference: str) -> list[Reservation]:
    return await backend.find_reservations(reference)


async def release_reservation(*, backend: WmsBackend, reservation_id: str) -> Reservation:
    """Return the reserved stock; releasing a released reservation answers it as it is."""
    reservation = await get_reservation(backend=backend, reservation_id=reservation_id)
    if reservation.status is ReservationStatus.released:
        return reservation
    if reservation.status in (ReservationStatus.picking, ReservationStatus.picked):
        raise BusinessRuleViolation(
            f"Reservation {reservation_id} is on the warehouse floor ({reservation.status.value}); "
            "cancel picking first."
        )
    released = await backend.release(reservation_id)
    if released is None:
        raise NotFound(f"No reservation {reservation_id!r} in the WMS.")
    return released


async def release_for_picking(*, backend: WmsBackend, reservation_id: str) -> Reservation:
    """Send the reserved goods to the floor for picking; again answers it as it is."""
    reservation = await get_reservation(backend=backend, reservation_id=reservation_id)
    if reservation.status is ReservationStatus.released:
        raise BusinessRuleViolation(f"Reservation {reservation_id} was released; there is nothing to pick.")
    if reservation.status is ReservationStatus.active:
        moved = await backend.set_floor_status(reservation_id, before=ALLOCATED, after=PICK_RELEASED)
        reservation = moved or reservation
    return reservation


async def cancel_picking(*, backend: WmsBackend, reservation_id: str) -> Reservation:
    """Take the goods back off the floor (the reservation stays, active); too late once picked."""
    reservation = await get_reservation(backend=backend, reservation_id=reservation_id)
    if reservation.status is ReservationStatus.picking:
        moved = await backend.set_floor_status(reservation_id, before=PICK_RELEASED, after=ALLOCATED)
        reservation = moved or reservation
    if reservation.status is ReservationStatus.picked:
        raise PickingTooLate(f"Reservation {reservation_id} is already picked; picking can no longer be cancelled.")
    return reservation
