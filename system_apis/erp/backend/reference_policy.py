"""The reference ERP's item stock policy (status and safety stock), changed and announced:
``com.interchange.item.changed.v1`` goes to the outbox in the transaction of the change, with the
item's change counter as its ``entityversion``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import ProductStatus, Quantity
from contracts.events import ItemChangedV1, ItemStatus
from service_kit.events import add_event, new_event
from system_apis.erp.models import ErpItem, ErpItemPlanning
from system_apis.erp.schemas import ItemStockPolicy

SOURCE = "urn:interchange:system:erp"


def to_policy(item: ErpItem, planning: ErpItemPlanning | None) -> ItemStockPolicy:
    return ItemStockPolicy(
        sku=item.catalog_sku,
        status=ProductStatus.discontinued if item.sales_blocked else ProductStatus.active,
        safety_stock=Quantity.of(planning.safety_stock if planning else 0),
        version=planning.change_seq if planning else 0,
    )


class ReferenceStockPolicies:
    session: AsyncSession

    async def stock_policies(self, *, after: str | None, limit: int) -> tuple[list[ItemStockPolicy], str | None]:
        stmt = (
            select(ErpItem, ErpItemPlanning)
            .outerjoin(ErpItemPlanning, ErpItemPlanning.item_no == ErpItem.item_no)
            .order_by(ErpItem.catalog_sku)
            .limit(limit + 1)
        )
        if after:
            stmt = stmt.where(ErpItem.catalog_sku > after)
        rows = (await self.session.execute(stmt)).all()
        page = [to_policy(item, planning) for item, planning in rows[:limit]]
        return page, (page[-1].sku if len(rows) > limit and page else None)

    async def change_stock_policy(
        self, *, sku: str, status: ProductStatus | None, safety_stock: int | None
    ) -> ItemStockPolicy | None:
        """Apply the change (None: item unknown); announce it when anything changed."""
        item = await self.session.scalar(select(ErpItem).where(ErpItem.catalog_sku == sku))
        if item is None:
            return None
        planning = await self.session.get(ErpItemPlanning, item.item_no)
        if planning is None:
            planning = ErpItemPlanning(item_no=item.item_no, safety_stock=0, change_seq=0)
            self.session.add(planning)
        before = (item.sales_blocked, planning.safety_stock)
        if status is not None:
            item.sales_blocked = status is ProductStatus.discontinued
        if safety_stock is not None:
            planning.safety_stock = safety_stock
        if (item.sales_blocked, planning.safety_stock) != before:
            planning.change_seq += 1
            policy = to_policy(item, planning)
            data = ItemChangedV1(
                sku=sku, status=ItemStatus(policy.status.value), safety_stock=str(planning.safety_stock)
            )
            event = new_event(data=data, source=SOURCE, subject=f"item/{sku}", entity_version=planning.change_seq)
            await add_event(session=self.session, event=event)
        await self.session.flush()
        return to_policy(item, planning)
