"""Demo resellers for the embedded default; running it twice adds nothing."""

from __future__ import annotations

from sqlalchemy import select

from experience_apis.b2b.models import Reseller
from service_kit.db import Database

# partner_id -> (ERP customer id, currency): a trade account with its own price list and a credit
# limit, and a blocked one (its purchase orders are refused by the orders process).
DEMO_RESELLERS = {
    "borealis-hw": ("C-2001", "EUR"),
    "closed-shop": ("C-2002", "EUR"),
}


async def seed_demo(db: Database) -> None:
    async with db.transaction() as session:
        known = set((await session.execute(select(Reseller.partner_id))).scalars())
        for partner_id, (customer_id, currency) in DEMO_RESELLERS.items():
            if partner_id not in known:
                session.add(Reseller(partner_id=partner_id, customer_id=customer_id, currency=currency))
