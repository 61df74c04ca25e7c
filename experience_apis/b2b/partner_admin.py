"""Setting a reseller up, for operators (``interchange partners onboard --template b2b``): the
ERP account its purchase orders are placed on and their currency, in the request's transaction.

``set_up_reseller`` is idempotent (the reseller becomes what the request says; running it again
completes or updates an onboarding). ``remove_reseller`` undoes a fresh onboarding: the CLI calls
it when the gateway refuses the reseller's client right after; the reseller's orders live in the
orders process API, so this service cannot tell whether it has any: it is for that undo only.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from experience_apis.b2b.models import Reseller
from service_kit.errors import NotFound

#: A partner id: also its client id at the gateway.
PARTNER_ID = r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"


class ResellerSetup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: Annotated[str, Field(min_length=1, max_length=64, description="The ERP account it buys on.")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")]


class ResellerSetupRead(BaseModel):
    partner_id: str
    created: bool = Field(description="The reseller was not set up before this call.")
    customer_id: str
    currency: str


class ResellerRemoved(BaseModel):
    partner_id: str
    removed: bool = True


class ResellerAdminRepository:
    """The reseller directory, for the operator's calls (SQL only; the request commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def put(self, *, partner_id: str, customer_id: str, currency: str) -> bool:
        """True when the reseller is new."""
        found = await self.session.get(Reseller, partner_id)
        if found is None:
            self.session.add(Reseller(partner_id=partner_id, customer_id=customer_id, currency=currency))
            return True
        found.customer_id, found.currency = customer_id, currency
        return False

    async def remove(self, partner_id: str) -> bool:
        result = await self.session.execute(delete(Reseller).where(Reseller.partner_id == partner_id))
        return bool(getattr(result, "rowcount", 0))


async def set_up_reseller(*, session: AsyncSession, partner_id: str, setup: ResellerSetup) -> ResellerSetupRead:
    created = await ResellerAdminRepository(session).put(
        partner_id=partner_id, customer_id=setup.customer_id, currency=setup.currency
    )
    await session.flush()
    return ResellerSetupRead(
        partner_id=partner_id, created=created, customer_id=setup.customer_id, currency=setup.currency
    )


async def remove_reseller(*, session: AsyncSession, partner_id: str) -> ResellerRemoved:
    if not await ResellerAdminRepository(session).remove(partner_id):
        raise NotFound(f"No reseller {partner_id!r}.")
    return ResellerRemoved(partner_id=partner_id)


__all__ = ["PARTNER_ID", "ResellerRemoved", "ResellerSetup", "ResellerSetupRead", "remove_reseller", "set_up_reseller"]
