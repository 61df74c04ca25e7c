"""Demo data for the embedded default, as in docs/first-flow.md; running it twice adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from service_kit.db import Database
from system_apis.wms.models import WmsStock, WmsWarehouse

# (whse_id, name, site code)
DEMO_WAREHOUSES = [("WH01", "Amsterdam DC", "AMS"), ("WH02", "Rotterdam DC", "RTM")]

# article -> on hand in (WH01, WH02)
DEMO_STOCK = {
    "WIDGET-BLUE": (100, 40),
    "WIDGET-RED": (5, 0),
    "GADGET-PRO": (0, 12),
    "CABLE-USB-C": (500, 500),
    "LEGACY-DIAL": (3, 0),
}


async def seed_demo(db: Database) -> None:
    now = datetime.now(UTC)
    async with db.transaction() as session:
        warehouses = set((await session.execute(select(WmsWarehouse.whse_id))).scalars())
        for whse_id, name, site in DEMO_WAREHOUSES:
            if whse_id not in warehouses:
                session.add(WmsWarehouse(whse_id=whse_id, whse_name=name, site_code=site))
        stock = {tuple(row) for row in await session.execute(select(WmsStock.whse_id, WmsStock.article))}
        for article, quantities in DEMO_STOCK.items():
            for (whse_id, _, _), on_hand in zip(DEMO_WAREHOUSES, quantities, strict=True):
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
