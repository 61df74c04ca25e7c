"""Demo partners for the embedded default; running it twice adds nothing."""

from __future__ import annotations

from sqlalchemy import select

from experience_apis.fulfillment_partners.models import FulfillmentPartner
from service_kit.db import Database

#: partner_id -> (the warehouse it operates, as the WMS seed names it; its name). The fulfilment
#: process maps the same warehouse to the same partner (its ``warehouse_partners`` setting).
DEMO_PARTNERS = {"northwind-3pl": ("WH-3PL", "Northwind Logistics")}


async def seed_demo(db: Database) -> None:
    async with db.transaction() as session:
        known = set((await session.execute(select(FulfillmentPartner.partner_id))).scalars())
        for partner_id, (warehouse, name) in DEMO_PARTNERS.items():
            if partner_id not in known:
                session.add(FulfillmentPartner(partner_id=partner_id, warehouse=warehouse, name=name))
