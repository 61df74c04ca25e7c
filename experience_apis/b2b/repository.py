"""SQL of the B2B service: the reseller directory and the quotes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from experience_apis.b2b.models import Quote, Reseller


async def get_reseller(session: AsyncSession, *, partner_id: str) -> Reseller | None:
    return await session.get(Reseller, partner_id)


async def add_quote(session: AsyncSession, *, quote: Quote) -> None:
    session.add(quote)
    await session.flush()


async def get_quote(session: AsyncSession, *, quote_id: str, partner_id: str) -> Quote | None:
    """The reseller's own quote (another's is not there)."""
    found = await session.get(Quote, quote_id)
    return found if found is not None and found.partner_id == partner_id else None


__all__ = ["add_quote", "get_quote", "get_reseller"]
