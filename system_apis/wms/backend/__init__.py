"""The WMS backend port. The reference adapter persists in this service's own database; a real
WMS (Manhattan, Blue Yonder, SAP EWM) is one more adapter implementing the same Protocol."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from contracts import InventoryPosition, Reservation, ReservationLineCreate
from contracts.events import MovementKind
from system_apis.wms.schemas import StockMovementRead, VersionedPosition, Warehouse

#: (sku, warehouse site code, signed whole units) of one movement line.
MovementLine = tuple[str, str, int]


class StockShortage(Exception):
    """The warehouse no longer has enough of these SKUs; ``available`` is what it still has."""

    def __init__(self, available: Mapping[str, Decimal]) -> None:
        super().__init__(", ".join(available))
        self.available = dict(available)


class WmsBackend(Protocol):
    """What the WMS answers on the request's async session: warehouses, positions, adjustments,
    counts and the snapshot. Reservations and receipts are ``WmsStore``'s."""

    async def list_warehouses(self) -> list[Warehouse]: ...

    async def stock_positions(self, skus: Sequence[str]) -> list[InventoryPosition]:
        """One position per SKU and warehouse, for the SKUs the WMS stocks."""
        ...

    # Stock movements outside reservations. Every change is announced as a stock.moved event
    # in the same transaction (the reference adapter journals and versions it).

    async def previous_movements(
        self, *, kind: MovementKind, reference: str, lines: Sequence[MovementLine]
    ) -> list[StockMovementRead] | None:
        """What ``reference`` already booked (None: nothing); raises ``Conflict`` when that differs."""
        ...

    async def adjust(self, *, reference: str, warehouse: str, sku: str, delta: int, reason: str) -> StockMovementRead:
        """Raises ``BusinessRuleViolation`` when on hand would fall below what is reserved."""
        ...

    async def count(
        self, *, reference: str, warehouse: str, sku: str, counted: int, expected_version: int | None
    ) -> StockMovementRead:
        """Sets on hand to ``counted``; ``Conflict`` when the position moved since ``expected_version``."""
        ...

    async def stock_snapshot(self, *, after: str | None, limit: int) -> tuple[list[VersionedPosition], str | None]:
        """Every position with its version, ``limit`` SKUs per page; the cursor of the next page."""
        ...


class WmsStore(Protocol):
    """Reservations and receipts, synchronous over the connection of one unit of work
    (``system_apis.wms.units``): every call of one unit runs in its transaction."""

    def reservation_candidates(self, skus: Sequence[str]) -> tuple[list[str], list[InventoryPosition]]:
        """Every warehouse's code, and the positions of these SKUs (what choosing a warehouse
        needs), read together."""
        ...

    def reserve(self, *, reference: str, warehouse: str, lines: Sequence[ReservationLineCreate]) -> Reservation:
        """Reserve every line in this warehouse as one unit of work. Raises ``StockShortage`` when
        any line cannot be covered; raising rolls the unit back, stock included."""
        ...

    def get_reservation(self, reservation_id: str) -> Reservation | None: ...

    def find_reservations(self, reference: str) -> list[Reservation]: ...

    def find_active_reservation(self, reference: str) -> Reservation | None: ...

    def set_floor_status(self, reservation_id: str, *, before: str, after: str) -> Reservation | None:
        """Moves a reservation on the warehouse floor (``active`` <-> ``picking``), only from
        ``before``; answers it as it then is (None when unknown)."""
        ...

    def release(self, reservation_id: str) -> Reservation | None:
        """Return the stock of an active reservation; a released one is answered as it is."""
        ...

    def previous_movements(
        self, *, kind: MovementKind, reference: str, lines: Sequence[MovementLine]
    ) -> list[StockMovementRead] | None:
        """What ``reference`` already booked (None: nothing); raises ``Conflict`` when that differs."""
        ...

    def receive(self, *, reference: str, warehouse: str, lines: Sequence[MovementLine]) -> list[StockMovementRead]: ...
