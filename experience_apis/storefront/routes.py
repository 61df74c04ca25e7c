"""The storefront service's own API: push status and dead-letter replay, for internal apps. HTTP
only: parse, call one service function, answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query

from contracts.scopes import STOREFRONT_ADMIN
from experience_apis.storefront import service
from experience_apis.storefront.schemas import PushReplay, PushReplayCreate, SyncStatus
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.openapi import problem_doc

router = APIRouter(prefix="/v1", tags=["storefront"])
Admin = Annotated[Principal, require(STOREFRONT_ADMIN)]
Sku = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Z0-9][A-Z0-9._\-]*$", examples=["WIDGET-BLUE"])]


@router.get(
    "/sync-status",
    operation_id="getStorefrontSyncStatus",
    summary="Inventory pushes to the storefront, by state, with the dead letters",
    description="`pending`: a level waits to be pushed or retried; `synced`: the storefront has the latest "
    "level; `dead`: retries ran out or the SKU has no storefront item (see `last_error`); replay it once fixed.",
    responses={403: {"description": "The token lacks storefront:admin."}},
)
async def get_sync_status(
    _: Admin, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> SyncStatus:
    return await service.sync_status(session=session, limit=limit)


@router.post(
    "/inventory-pushes/{sku}/replay",
    status_code=202,
    operation_id="replayStorefrontPush",
    summary="Push a dead SKU's latest level again",
    responses={
        202: {"description": "Queued; the pusher sends it within the storefront's rate limit."},
        403: {"description": "The token lacks storefront:admin."},
        404: problem_doc("No push was ever recorded for this SKU."),
        409: problem_doc("The SKU's push is not dead (it is synced or pending)."),
    },
)
async def replay_push(
    sku: Sku,
    principal: Admin,
    session: SessionDep,
    body: Annotated[
        PushReplayCreate | None,
        Body(openapi_examples={"reason": {"summary": "why", "value": {"reason": "item mapped in the shop"}}}),
    ] = None,
) -> PushReplay:
    """Audited: the caller's client id, the time and the body's reason are recorded."""
    return await service.replay_push(
        session=session, sku=sku, actor=principal.client_id, reason=body.reason if body else None
    )
