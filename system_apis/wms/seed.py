"""Demo data for the embedded default, as in docs/first-flow.md; running it twice adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from service_kit.db import Database
from system_apis.wms.models import WmsStock, WmsWarehouse, WmsWarehouseOperator

#: The partner that operates the demo 3PL warehouse (its fulfilment requests go there).
THREE_PL_PARTNER = "northwind-3pl"
THREE_PL_WAREHOUSE = "WH-3PL"

# (whse_id, name, site code, operator: the partner running it, None: run by the business itself)
DEMO_WAREHOUSES = [
    ("WH01", "Amsterdam DC", "AMS", None),
    ("WH02", "Rotterdam DC", "RTM", None),
    ("WH03", "Northwind 3PL Venlo", THREE_PL_WAREHOUSE, THREE_PL_PARTNER),
]

# article -> on hand in (WH01, WH02, WH03). WH-3PL never has the most of a SKU, so an order for
# one SKU, or one that AMS or RTM can ship whole, goes where it went before the 3PL was added;
# it is chosen for an order that only it can ship whole: WIDGET-RED (at most 2) with GADGET-PRO
# (at most 8), since AMS has no GADGET-PRO and RTM no WIDGET-RED.
DEMO_STOCK = {
    "WIDGET-BLUE": (100, 40, 20),
    "WIDGET-RED": (5, 0, 2),
    "GADGET-PRO": (0, 12, 8),
    "CABLE-USB-C": (500, 500, 50),
    "LEGACY-DIAL": (3, 0, 0),
}


async def seed_demo(db: Database) -> None:
    now = datetime.now(UTC)
    async with db.transaction() as session:
        warehouses = set((await session.execute(select(WmsWarehouse.whse_id))).scalars())
        operated = set((await session.execute(select(WmsWarehouseOperator.whse_id))).scalars())
        for whse_id, name, site, operator in DEMO_WAREHOUSES:
            if whse_id not in warehouses:
                session.add(WmsWarehouse(whse_id=whse_id, whse_name=name, site_code=site))
            if operator is not None and whse_id not in operated:
                session.add(WmsWarehouseOperator(whse_id=whse_id, partner_id=operator))
        await session.flush()  # the warehouses before their stock (foreign keys)
        stock = {tuple(row) for row in await session.execute(select(WmsStock.whse_id, WmsStock.article))}
        for article, quantities in DEMO_STOCK.items():
            for (whse_id, *_), on_hand in zip(DEMO_WAREHOUSES, quantities, strict=True):
                if (whse_id, article) in stock:
                    continue
                session.add(
                    WmsStock(
                        whse_id=whse_id,
                        article=article,
                        uom="EACH",
                        qty_on_hand=on_hand,
                        qty_allocated=0,
                        last_movement_at=now,
                    )
                )
