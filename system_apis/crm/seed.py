"""Demo data for the embedded default; running it twice adds nothing."""

from __future__ import annotations

from sqlalchemy import select

from service_kit.db import Database
from system_apis.crm.models import CrmAccount

# (AccountId, ErpCustomerNo, AccountName, Segment, IsActive, PrimaryEmail)
DEMO_ACCOUNTS = [
    ("001A", "C-1001", "Acme Market (marketplace buyers)", "Consumer", True, "orders@acme-market.test"),
    ("001B", "C-2001", "Borealis Hardware GmbH", "Business", True, "purchasing@borealis.test"),
    ("001C", "C-2002", "Closed Shop Ltd", "Business", False, None),
    ("001D", "C-1002", "Zenith Market (marketplace buyers)", "Consumer", True, "orders@zenith-market.test"),
]


async def seed_demo(db: Database) -> None:
    async with db.transaction() as session:
        existing = set((await session.execute(select(CrmAccount.AccountId))).scalars())
        for account_id, customer_no, name, segment, active, email in DEMO_ACCOUNTS:
            if account_id in existing:
                continue
            session.add(
                CrmAccount(
                    AccountId=account_id,
                    ErpCustomerNo=customer_no,
                    AccountName=name,
                    Segment=segment,
                    IsActive=active,
                    PrimaryEmail=email,
                    CurrencyIsoCode="EUR",
                )
            )
