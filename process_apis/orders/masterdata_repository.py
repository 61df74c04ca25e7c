"""The SQL of the orders service's copy of the ERP's master data (customer terms, price lists).

A state is saved only when its version is at least the one held (an older snapshot or a late
event never overwrites a newer state); the same version refreshes ``refreshed_at`` (confirmed
current). Functions take the caller's session and never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from process_apis.orders.models import MasterCustomer, MasterPriceList


async def get_customer(session: AsyncSession, *, customer_id: str) -> MasterCustomer | None:
    return await session.get(MasterCustomer, customer_id, populate_existing=True)


async def get_price_list(session: AsyncSession, *, code: str) -> MasterPriceList | None:
    return await session.get(MasterPriceList, code, populate_existing=True)


def _upsert(
    session: AsyncSession, model: type[MasterCustomer] | type[MasterPriceList], key: str, values: dict[str, Any]
) -> Insert:
    """INSERT, or UPDATE when the version is at least the one held: one statement, safe against a
    concurrent save of the same key (the snapshot and a fallback call, or two replicas)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = model.__table__
    stmt = dialect.insert(table).values(**values)
    return stmt.on_conflict_do_update(
        index_elements=[table.c[key]],
        set_={name: stmt.excluded[name] for name in values if name != key},
        where=table.c.version <= stmt.excluded.version,
    )


async def save_customer(
    session: AsyncSession, *, customer_id: str, customer: dict[str, Any], price_list: str, version: int, at: datetime
) -> None:
    values = {
        "customer_id": customer_id,
        "customer": customer,
        "price_list": price_list,
        "version": version,
        "refreshed_at": at,
    }
    await session.execute(_upsert(session, MasterCustomer, "customer_id", values))


async def save_price_list(
    session: AsyncSession, *, code: str, currency: str, lines: dict[str, list[str]], version: int, at: datetime
) -> None:
    values = {"code": code, "currency": currency, "lines": lines, "version": version, "refreshed_at": at}
    await session.execute(_upsert(session, MasterPriceList, "code", values))


__all__ = ["get_customer", "get_price_list", "save_customer", "save_price_list"]
