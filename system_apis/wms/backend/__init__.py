"""The WMS backend port. The reference adapter persists in this service's own database; a real
WMS (Manhattan, Blue Yonder, SAP EWM) is one more adapter implementing the same Protocol."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from contracts import InventoryPosition, Reservation, ReservationLineCreate
from system_apis.wms.schemas import Warehouse


class StockShortage(Exception):
    """The warehouse no longer has enough of these SKUs; ``available`` is what it still has."""

    def __init__(self, available: Mapping[str, Decimal]) -> None:
        super().__init__(", ".join(available))
        self.available = dict(available)


class WmsBackend(Protocol):
    async def list_warehouses(self) -> list[Warehouse]: ...

    async def stock_positions(self, skus: Sequence[str]) -> list[InventoryPosition]:
        """One position per SKU and warehouse, for the SKUs the WMS stocks."""
        ...

    async def reserve(self, *, reference: str, warehouse: str, lines: Sequence[ReservationLineCreate]) -> Reservation:
        """Reserve every line in this warehouse as one unit of work. Raises ``StockShortage`` when
        any line cannot be covered; raising rolls the request's transaction back, stock included."""
        ...

    async def get_reservation(self, reservation_id: str) -> Reservation | None: ...

    async def find_reservations(self, reference: str) -> list[Reservation]: ...

    async def find_active_reservation(self, reference: str) -> Reservation | None: ...

    async def set_floor_status(self, reservation_id: str, *, before: str, after: str) -> Reservation | None:
        """Moves a reservation on the warehouse floor (``active`` <-> ``picking``), only from
        ``before``; answers it as it then is (None when unknown)."""
        ...

    async def release(self, reservation_id: str) -> Reservation | None:
        """Return the stock of an active reservation; a released one is answered as it is."""
        ...
