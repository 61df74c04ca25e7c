"""Operators set marketplace partners up here (scope ``ops``, internal clients only), as
``interchange partners onboard`` does; not in the partners' published contract, like the event
bus's admin routes.

    PUT    /v1/admin/partners/{partner_id}   account link, listings, field mapping, webhooks (idempotent)
    DELETE /v1/admin/partners/{partner_id}   undo a fresh onboarding (refused once it has orders); 200 + JSON,
                                             as the CLI's admin client reads every answer as JSON
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from contracts.scopes import OPS
from experience_apis.marketplace import partner_admin
from experience_apis.marketplace.dependencies import Policy
from experience_apis.marketplace.partner_admin import PARTNER_ID, PartnerRemoved, PartnerSetup, PartnerSetupRead
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.errors import Forbidden

router = APIRouter(prefix="/v1/admin/partners", include_in_schema=False)


async def _operator(principal: Annotated[Principal, require(OPS)]) -> Principal:
    if principal.kind != "internal":
        raise Forbidden("Partners are set up by operators: an internal client's token with 'ops'.")
    return principal


def _forget(request: Request) -> None:
    """This process reads the change within moments (a read racing the commit may hold the old rows
    for one cache period); other replicas within their caches' few seconds."""
    request.app.state.partner_directory.forget()
    mappings = getattr(request.app.state, "partner_mappings", None)
    if mappings is not None:
        mappings.forget()


Operator = Annotated[Principal, Depends(_operator)]
Partner = Annotated[str, Path(min_length=1, max_length=64, pattern=PARTNER_ID)]


@router.put("/{partner_id}")
async def set_up_partner(
    partner_id: Partner, body: PartnerSetup, request: Request, _: Operator, session: SessionDep, policy: Policy
) -> PartnerSetupRead:
    answer = await partner_admin.set_up_partner(session=session, partner_id=partner_id, setup=body, policy=policy)
    _forget(request)
    return answer


@router.delete("/{partner_id}")
async def remove_partner(partner_id: Partner, request: Request, _: Operator, session: SessionDep) -> PartnerRemoved:
    await partner_admin.remove_partner(session=session, partner_id=partner_id)
    _forget(request)
    return PartnerRemoved(partner_id=partner_id)
