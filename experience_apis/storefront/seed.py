"""Demo storefront item ids for the embedded default; running it twice adds nothing."""

from __future__ import annotations

from sqlalchemy import select

from experience_apis.storefront.models import StorefrontItem
from service_kit.db import Database

DEMO_ITEMS = {"WIDGET-BLUE": 44001, "WIDGET-RED": 44002, "GADGET-PRO": 44003, "CABLE-USB-C": 44004}


async def seed_demo(db: Database) -> None:
    async with db.transaction() as session:
        known = set((await session.execute(select(StorefrontItem.sku))).scalars())
        for sku, item_id in DEMO_ITEMS.items():
            if sku not in known:
                session.add(StorefrontItem(sku=sku, inventory_item_id=item_id))
