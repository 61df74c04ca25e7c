"""The storefront service's fulfilment pushes (shipments told to the shop), for internal apps: the
list with the dead letters, and a dead one's replay. HTTP only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query

from contracts.scopes import STOREFRONT_ADMIN
from experience_apis.storefront import fulfilments
from experience_apis.storefront.models import PushStatus
from experience_apis.storefront.schemas import PushReplayCreate
from experience_apis.storefront.schemas_fulfilments import FulfilmentPushList, FulfilmentReplay
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.openapi import problem_doc

router = APIRouter(prefix="/v1", tags=["storefront"])
Admin = Annotated[Principal, require(STOREFRONT_ADMIN)]
ShipmentId = Annotated[str, Path(min_length=1, max_length=129, examples=["ASN-1001-1"])]


@router.get(
    "/fulfilment-pushes",
    operation_id="listStorefrontFulfilmentPushes",
    summary="Shipments pushed to the storefront as fulfilments, oldest first",
    description="`pending`: waits to be pushed or retried; `synced`: the shop has it; `dead`: retries ran "
    "out (see `last_error`); replay it once fixed.",
    responses={403: {"description": "The token lacks storefront:admin."}},
)
async def list_pushes(
    _: Admin,
    session: SessionDep,
    status: Annotated[PushStatus | None, Query(description="Only pushes in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FulfilmentPushList:
    return await fulfilments.list_pushes(session=session, status=status, limit=limit)


@router.post(
    "/fulfilment-pushes/{shipment_id}/replay",
    status_code=202,
    operation_id="replayStorefrontFulfilmentPush",
    summary="Push a dead fulfilment again",
    responses={
        202: {"description": "Queued; the pusher sends it within the storefront's rate limit."},
        403: {"description": "The token lacks storefront:admin."},
        404: problem_doc("No fulfilment push was recorded for this shipment."),
        409: problem_doc("The push is not dead (it is synced or pending)."),
    },
)
async def replay_push(
    shipment_id: ShipmentId,
    principal: Admin,
    session: SessionDep,
    body: Annotated[
        PushReplayCreate | None,
        Body(openapi_examples={"reason": {"summary": "why", "value": {"reason": "order reopened in the shop"}}}),
    ] = None,
) -> FulfilmentReplay:
    """Audited: the caller's client id, the time and the body's reason are recorded."""
    return await fulfilments.replay(
        session=session, shipment_id=shipment_id, actor=principal.client_id, reason=body.reason if body else None
    )
