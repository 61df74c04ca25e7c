"""Demo data for the embedded default, as in docs/first-flow.md; running it twice adds nothing."""

from __future__ import annotations

from sqlalchemy import select

from service_kit.db import Database
from system_apis.erp.models import ErpCustomer, ErpItem, ErpPriceList

# (code, description, discount in basis points)
DEMO_PRICE_LISTS = [("TRADE-10", "Trade customers: 10 % below list", 1000)]

# (item_no, catalog SKU, description, base unit, list price in cents, sales blocked)
DEMO_ITEMS = [
    ("100-2001", "WIDGET-BLUE", "Blue widget", "PCS", 1999, False),
    ("100-2002", "WIDGET-RED", "Red widget", "PCS", 1999, False),
    ("200-1001", "GADGET-PRO", "Gadget Pro", "PCS", 14900, False),
    ("300-0042", "CABLE-USB-C", "USB-C cable 1 m", "PCS", 950, False),
    ("900-0001", "LEGACY-DIAL", "Rotary dial", "PCS", 3000, True),
]

# (customer_no, name, group, blocked, credit limit in cents, price list)
DEMO_CUSTOMERS = [
    ("C-1001", "Acme Market", "RETAIL", False, None, None),
    ("C-1002", "Zenith Market", "RETAIL", False, None, None),
    ("C-2001", "Borealis Hardware GmbH", "TRADE", False, 500000, "TRADE-10"),
    ("C-2002", "Closed Shop Ltd", "TRADE", True, None, None),
]


async def seed_demo(db: Database) -> None:
    async with db.transaction() as session:
        price_lists = set((await session.execute(select(ErpPriceList.code))).scalars())
        for code, description, discount_bp in DEMO_PRICE_LISTS:
            if code not in price_lists:
                session.add(ErpPriceList(code=code, description=description, discount_bp=discount_bp))
        items = set((await session.execute(select(ErpItem.item_no))).scalars())
        for item_no, sku, description, uom, cents, blocked in DEMO_ITEMS:
            if item_no in items:
                continue
            session.add(
                ErpItem(
                    item_no=item_no,
                    catalog_sku=sku,
                    description=description,
                    base_uom=uom,
                    list_price_cents=cents,
                    price_currency="EUR",
                    sales_blocked=blocked,
                )
            )
        customers = set((await session.execute(select(ErpCustomer.customer_no))).scalars())
        for customer_no, name, group, blocked, credit_cents, price_list in DEMO_CUSTOMERS:
            if customer_no in customers:
                continue
            session.add(
                ErpCustomer(
                    customer_no=customer_no,
                    name=name,
                    customer_group=group,
                    blocked=blocked,
                    currency="EUR",
                    credit_limit_cents=credit_cents,
                    price_list_code=price_list,
                )
            )
