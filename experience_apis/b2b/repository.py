"""SQL of the B2B service: the reseller directory."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from experience_apis.b2b.models import Reseller


async def get_reseller(session: AsyncSession, *, partner_id: str) -> Reseller | None:
    return await session.get(Reseller, partner_id)


__all__ = ["get_reseller"]
