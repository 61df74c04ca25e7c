from __future__ import annotations

from contracts import CanonicalModel, InventoryPosition, Reservation


class Warehouse(CanonicalModel):
    code: str
    name: str


class WarehouseList(CanonicalModel):
    items: list[Warehouse]


class StockList(CanonicalModel):
    items: list[InventoryPosition]


class ReservationList(CanonicalModel):
    items: list[Reservation]
