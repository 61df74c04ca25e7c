"""SQL of the fulfilment partners service: the partner directory."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from experience_apis.fulfillment_partners.models import FulfillmentPartner


async def get_partner(session: AsyncSession, *, partner_id: str) -> FulfillmentPartner | None:
    return await session.get(FulfillmentPartner, partner_id)


__all__ = ["get_partner"]
