"""The event bus's dead letters for operators (scope ``ops``, internal clients only), on every
service that consumes events: ``app.include_router(service_kit.events.admin_routes.router)``.
``interchange events ...`` calls it, so the CLI never opens the bus itself.

    GET  /v1/admin/events/dead-letters?group=&limit=   parked messages, oldest first
    POST /v1/admin/events/replays {"dead_letter_id", "reason"}   hand one back to its group only

A replay is logged (``event_dead_letter_replayed``: the operator's client id, the reason, the
group, the event) as the audit of who replayed what and why; the bus keeps no table of its own.

The bus is the service's own (``open_bus(settings=...)``): every service of a deployment shares
it, so any one of them answers for every group. It is opened for the call and closed after: an
operator's call is rare, and the workers' connections stay theirs.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from contracts.scopes import OPS
from service_kit.auth import Principal, require
from service_kit.errors import Forbidden, NotFound, UpstreamUnavailable
from service_kit.events.factory import open_bus
from service_kit.events.port import DeadLetter, EventBus, EventBusError, UnknownDeadLetter

log = structlog.get_logger("service_kit.events.admin")

router = APIRouter(prefix="/v1/admin/events", include_in_schema=False)


async def _operator(principal: Annotated[Principal, require(OPS)]) -> Principal:
    if principal.kind != "internal":
        raise Forbidden("The event bus's dead letters are for operators: an internal client's token with 'ops'.")
    return principal


async def _bus(request: Request) -> AsyncIterator[EventBus]:
    bus = open_bus(settings=request.app.state.settings)
    try:
        yield bus
    except EventBusError:
        raise UpstreamUnavailable("The event bus did not answer; try again.") from None
    finally:
        await bus.close()


Operator = Annotated[Principal, Depends(_operator)]
Bus = Annotated[EventBus, Depends(_bus)]


class DeadLetterRead(BaseModel):
    id: str
    group: str
    message_id: str
    deliveries: int
    error: str
    dead_at: datetime
    event: dict[str, Any]


class DeadLetterList(BaseModel):
    items: list[DeadLetterRead]


class ReplayCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dead_letter_id: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, min_length=1, max_length=1000, description="Why, for the audit log")


def _read(letter: DeadLetter) -> DeadLetterRead:
    return DeadLetterRead(
        id=letter.id,
        group=letter.group,
        message_id=letter.message_id,
        deliveries=letter.deliveries,
        error=letter.error,
        dead_at=letter.dead_at,
        event=json.loads(letter.event.model_dump_json()),
    )


@router.get("/dead-letters")
async def list_dead_letters(
    _: Operator,
    bus: Bus,
    group: Annotated[str | None, Query(max_length=200, description="Only this consumer group's.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeadLetterList:
    """The messages parked after too many failed deliveries, with their last error, oldest first."""
    return DeadLetterList(items=[_read(d) for d in await bus.dead_letters(group=group, limit=limit)])


@router.post("/replays")
async def replay_dead_letter(operator: Operator, bus: Bus, body: ReplayCreate) -> DeadLetterRead:
    """Hand a dead letter back to its consumer group (only that group), with a fresh delivery count."""
    try:
        letter = _read(await bus.replay(dead_letter_id=body.dead_letter_id))
    except UnknownDeadLetter:
        raise NotFound(
            f"There is no dead letter {body.dead_letter_id!r} (replayed already?); "
            "list them with GET /v1/admin/events/dead-letters."
        ) from None
    log.info(
        "event_dead_letter_replayed",
        operator=operator.client_id,
        reason=body.reason,
        group=letter.group,
        event_type=letter.event.get("type"),
        event_id=letter.event.get("id"),
        dead_letter_id=letter.id,
    )
    return letter


__all__ = ["DeadLetterList", "DeadLetterRead", "ReplayCreate", "router"]
