"""The reference WMS: persists in the service's database and maps its native shape (WH01/WH02,
EACH) to canonical objects: warehouses, stock positions, adjustments, counts and the snapshot
here; reservations and receipts in ``reference_store`` (one unit of work each)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import InventoryPosition, Quantity
from system_apis.wms.backend.reference_stock import ReferenceStockChanges
from system_apis.wms.backend.reference_store import UNIT_TO_CANONICAL, utc
from system_apis.wms.models import WmsStock, WmsWarehouse, WmsWarehouseOperator
from system_apis.wms.schemas import Warehouse


def to_position(stock: WmsStock, site: str) -> InventoryPosition:
    unit = UNIT_TO_CANONICAL[stock.uom]
    return InventoryPosition(
        sku=stock.article,
        warehouse=site,
        on_hand=Quantity.of(stock.qty_on_hand, unit),
        reserved=Quantity.of(stock.qty_allocated, unit),
        available=Quantity.of(stock.qty_on_hand - stock.qty_allocated, unit),
        updated_at=utc(stock.last_movement_at),
    )


class ReferenceWmsBackend(ReferenceStockChanges):
    """One per request: warehouses, stock positions, adjustments, counts and the snapshot.
    Reservations and receipts are ``ReferenceStore``'s (one unit of work each)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_warehouses(self) -> list[Warehouse]:
        stmt = (
            select(WmsWarehouse.site_code, WmsWarehouse.whse_name, WmsWarehouseOperator.partner_id)
            .outerjoin(WmsWarehouseOperator, WmsWarehouseOperator.whse_id == WmsWarehouse.whse_id)
            .order_by(WmsWarehouse.site_code)
        )
        rows = (await self.session.execute(stmt)).all()
        return [Warehouse(code=code, name=name, operated_by=partner) for code, name, partner in rows]

    async def stock_positions(self, skus: Sequence[str]) -> list[InventoryPosition]:
        stmt = (
            select(WmsStock, WmsWarehouse.site_code)
            .join(WmsWarehouse, WmsWarehouse.whse_id == WmsStock.whse_id)
            .where(WmsStock.article.in_(set(skus)))
            .order_by(WmsStock.article, WmsWarehouse.site_code)
        )
        return [to_position(stock, site) for stock, site in (await self.session.execute(stmt)).all()]
