"""The internal API (scope ``orders:admin``, internal clients only): HTTP only, as in routes.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, cast

from fastapi import APIRouter, BackgroundTasks, Query, Request
from pydantic import AfterValidator

from contracts import OrderStatus
from contracts.scopes import ORDERS_ADMIN
from process_apis.orders import admin
from process_apis.orders.flows.worker import wake_worker
from process_apis.orders.models import HoldKind
from process_apis.orders.routes import Offset, OrderId
from process_apis.orders.schemas import (
    CreditReview,
    ExceptionQueue,
    OrderPage,
    OrderTimeline,
    ReplayCreate,
    ReplayRead,
)
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.idempotency import IdempotencyDep

OrdersAdmin = Annotated[Principal, require(ORDERS_ADMIN)]
Limit = Annotated[int, Query(ge=1, le=200)]

# Past this, an age means "ever" (timedelta ends there).
MAX_MINUTES = 100 * 366 * 24 * 60


def _only_iso_8601(value: object) -> object:
    """pydantic also reads a number as seconds since 1970; the contract says ISO 8601 only."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()
    ):
        raise ValueError("expected an ISO 8601 date-time")
    return value


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _moment(value: str) -> datetime:
    _only_iso_8601(value)
    return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


#: Published as a plain string (an earlier revision of this v1 said date-time, another a pattern;
#: this accepts what both did), read as ISO 8601: anything else is a 422.
Moment = Annotated[str, AfterValidator(_moment)]


def _age(minutes: float | None) -> timedelta | None:
    return None if minutes is None else timedelta(minutes=min(minutes, MAX_MINUTES))


router = APIRouter(prefix="/v1/admin", tags=["orders-admin"])


def actor(principal: Principal) -> str:
    """Who did it, for the audit: the client, and the person it acts for when it says so."""
    return principal.client_id + (f" for {principal.on_behalf_of}" if principal.on_behalf_of else "")


@router.get("/orders", operation_id="adminListOrders", summary="Find any order")
async def list_orders(
    _: OrdersAdmin,
    session: SessionDep,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[OrderStatus | None, Query()] = None,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    created_from: Annotated[Moment | None, Query(description="Created at or after (ISO 8601).")] = None,
    created_to: Annotated[Moment | None, Query(description="Created before (ISO 8601).")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> OrderPage:
    return await admin.find_orders(
        session=session,
        channel=channel,
        status=status,
        customer_id=customer_id,
        # Moment is published as a string; its validator hands the route a datetime.
        created_from=cast("datetime | None", created_from),
        created_to=cast("datetime | None", created_to),
        limit=limit,
        offset=offset,
    )


@router.get(
    "/orders/{order_id}/timeline",
    operation_id="getOrderTimeline",
    summary="An order's full timeline",
    responses={404: {"description": "No such order."}},
)
async def get_timeline(order_id: OrderId, _: OrdersAdmin, session: SessionDep) -> OrderTimeline:
    """Status history, every saga step with its outcome, replays and the events in the outbox."""
    return await admin.timeline(session=session, order_id=order_id)


@router.get("/exceptions", operation_id="listExceptions", summary="The exception queue")
async def list_exceptions(
    _: OrdersAdmin,
    session: SessionDep,
    step: Annotated[str | None, Query(max_length=32, description="The step that failed.")] = None,
    kind: Annotated[HoldKind | None, Query(description="technical or credit_review.")] = None,
    reason: Annotated[str | None, Query(max_length=100, description="Text in the reason or error.")] = None,
    older_than_minutes: Annotated[float | None, Query(ge=0)] = None,
    newer_than_minutes: Annotated[float | None, Query(ge=0)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ExceptionQueue:
    """Orders on hold for a person, oldest parked first."""
    return await admin.exception_queue(
        session=session,
        step=step,
        hold_kind=kind,
        reason=reason,
        older_than=_age(older_than_minutes),
        newer_than=_age(newer_than_minutes),
        limit=limit,
        offset=offset,
    )


@router.post(
    "/orders/{order_id}/replay",
    status_code=202,
    operation_id="replayOrder",
    summary="Replay a parked order",
    responses={
        404: {"description": "No such order."},
        409: {"description": "The order is not parked, or a request with this key is still being processed."},
    },
)
async def replay(
    order_id: OrderId,
    body: ReplayCreate,
    principal: OrdersAdmin,
    idem: IdempotencyDep,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> ReplayRead:
    """The worker runs the order again from the step that failed; the replay is audited and its
    outcome recorded when that step has run (see the timeline)."""
    answer = await admin.replay_order(
        session=session, order_id=order_id, actor=actor(principal), note=body.note, idem=idem
    )
    background.add_task(wake_worker, request.app)
    return answer


@router.post(
    "/orders/{order_id}/credit-review",
    status_code=202,
    operation_id="reviewOrderCredit",
    summary="Decide a credit review",
    responses={
        404: {"description": "No such order."},
        409: {"description": "The order is not held for credit review."},
    },
)
async def credit_review(
    order_id: OrderId,
    body: CreditReview,
    principal: OrdersAdmin,
    idem: IdempotencyDep,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> ReplayRead:
    """Approve (the order goes on to reserve stock) or reject an order held over its credit limit."""
    answer = await admin.review_credit(
        session=session, order_id=order_id, actor=actor(principal), decision=body.decision, note=body.note, idem=idem
    )
    background.add_task(wake_worker, request.app)
    return answer
