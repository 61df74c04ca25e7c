"""Demo partners and listings for the embedded default; running it twice adds nothing."""

from __future__ import annotations

from sqlalchemy import select

from experience_apis.marketplace.models import Listing, PartnerAccount
from service_kit.db import Database

# partner_id -> (ERP customer id, currency)
DEMO_PARTNERS = {
    "acme-market": ("C-1001", "EUR"),
    "zenith-market": ("C-1002", "EUR"),
}

# (partner_id, seller SKU, canonical SKU)
DEMO_LISTINGS = [
    ("acme-market", "ACME-WB", "WIDGET-BLUE"),
    ("acme-market", "ACME-WR", "WIDGET-RED"),
    ("acme-market", "ACME-GP", "GADGET-PRO"),
    ("acme-market", "ACME-USB", "CABLE-USB-C"),
    ("acme-market", "ACME-DIAL", "LEGACY-DIAL"),
    ("zenith-market", "ZEN-0001", "WIDGET-BLUE"),
    ("zenith-market", "ZEN-0002", "CABLE-USB-C"),
]


async def seed_demo(db: Database) -> None:
    async with db.transaction() as session:
        partners = set((await session.execute(select(PartnerAccount.partner_id))).scalars())
        for partner_id, (customer_id, currency) in DEMO_PARTNERS.items():
            if partner_id not in partners:
                session.add(PartnerAccount(partner_id=partner_id, customer_id=customer_id, currency=currency))
        rows = await session.execute(select(Listing.partner_id, Listing.seller_sku))
        listings = {(partner_id, seller_sku) for partner_id, seller_sku in rows}
        for partner_id, seller_sku, sku in DEMO_LISTINGS:
            if (partner_id, seller_sku) not in listings:
                session.add(Listing(partner_id=partner_id, seller_sku=seller_sku, sku=sku))
