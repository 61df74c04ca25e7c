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
from system_apis.wms.models import WmsStock, WmsWarehouse
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
        rows = (await self.session.execute(select(WmsWarehouse).order_by(WmsWarehouse.site_code))).scalars()
        return [Warehouse(code=row.site_code, name=row.whse_name) for row in rows]

    async def stock_positions(self, skus: Sequence[str]) -> list[InventoryPosition]:
        stmt = (
            select(WmsStock, WmsWarehouse.site_code)
            .join(WmsWarehouse, WmsWarehouse.whse_id == WmsStock.whse_id)
            .where(WmsStock.article.in_(set(skus)))
            .order_by(WmsStock.article, WmsWarehouse.site_code)
        )
        return [to_position(stock, site) for stock, site in (await self.session.execute(stmt)).all()]
