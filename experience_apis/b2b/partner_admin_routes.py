"""Operators set resellers up here (scope ``ops``, internal clients only), as ``interchange
partners onboard --template b2b`` does; not in the resellers' published contract.

    PUT    /v1/admin/partners/{partner_id}   the ERP account link (idempotent)
    DELETE /v1/admin/partners/{partner_id}   undo a fresh onboarding; 200 + JSON, as the CLI's
                                             admin client reads every answer as JSON
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from contracts.scopes import OPS
from experience_apis.b2b import partner_admin
from experience_apis.b2b.partner_admin import PARTNER_ID, ResellerRemoved, ResellerSetup, ResellerSetupRead
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.errors import Forbidden

router = APIRouter(prefix="/v1/admin/partners", include_in_schema=False)


async def _operator(principal: Annotated[Principal, require(OPS)]) -> Principal:
    if principal.kind != "internal":
        raise Forbidden("Resellers are set up by operators: an internal client's token with 'ops'.")
    return principal


Operator = Annotated[Principal, Depends(_operator)]
Partner = Annotated[str, Path(min_length=1, max_length=64, pattern=PARTNER_ID)]


@router.put("/{partner_id}")
async def set_up_reseller(
    partner_id: Partner, body: ResellerSetup, _: Operator, session: SessionDep
) -> ResellerSetupRead:
    return await partner_admin.set_up_reseller(session=session, partner_id=partner_id, setup=body)


@router.delete("/{partner_id}")
async def remove_reseller(partner_id: Partner, _: Operator, session: SessionDep) -> ResellerRemoved:
    return await partner_admin.remove_reseller(session=session, partner_id=partner_id)
