"""HTTP only: parse, call one service function, return a schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, FastAPI, Header, Path, Query, Request, Response
from pydantic import AfterValidator

from contracts import Order, OrderAccepted, OrderCreate, OrderStatus
from contracts.scopes import ORDERS_READ, ORDERS_WRITE
from process_apis.orders import intake, intake_batch, service
from process_apis.orders.clients import ErpClient
from process_apis.orders.flows.worker import wake_worker
from process_apis.orders.masterdata import CachedErp
from process_apis.orders.schemas import CancelAccepted, OrderCancel, OrderList
from service_kit.app import upstream
from service_kit.auth import Principal, require
from service_kit.db import ReadConnDep, SessionDep
from service_kit.errors import BadRequest
from service_kit.http import PARTNER_HEADER
from service_kit.idempotency import IdempotencyDep, IdempotencyKeyHeader, fingerprint
from service_kit.openapi import problem_doc
from service_kit.precomputed import precomputed

#: Past this a page is empty whatever the data (and SQLite's integers end at 2**63 - 1, where a
#: larger offset was a 500). Published v1 says only ``minimum: 0``: a ``maximum`` would narrow it
#: inside the version, so a larger offset is read as this one, which answers the same empty page.
MAX_OFFSET = 2**62
Offset = Annotated[int, Query(ge=0), AfterValidator(lambda value: min(value, MAX_OFFSET))]


# ``async def`` although nothing is awaited: FastAPI runs a plain ``def`` dependency in the
# threadpool, a thread hand-off per request for nothing.
async def _erp(request: Request) -> CachedErp:
    return CachedErp(ErpClient(upstream(request.app, "erp")), request.app.state.master_data)


async def _acting_partner_header(
    partner: Annotated[
        str | None,
        Header(
            alias=PARTNER_HEADER,
            max_length=64,
            description="The partner a service acts for (service tokens only; a partner's own token "
            "always acts as that partner).",
        ),
    ] = None,
) -> None:
    """Declares the header in the contract; ``Principal.acting_partner`` is what is used."""


async def _intake_key(
    request: Request,
    principal: OrdersWrite,
    idempotency_key: IdempotencyKeyHeader,
) -> intake.IntakeKey:
    """The kit's Idempotency-Key (same header, scope and fingerprint), for intake's one-transaction
    use of it (``process_apis.orders.intake``)."""
    key = idempotency_key.strip()
    if not key:
        raise BadRequest("The Idempotency-Key header is empty.")
    body = await request.body()
    # The route's path as request.url.path has it (a fixed path: nothing to escape), without
    # building the URL object.
    return intake.IntakeKey(principal.client_id, key, fingerprint(request.method, request.scope["path"], body))


Erp = Annotated[CachedErp, Depends(_erp)]
IntakeKeyDep = Annotated[intake.IntakeKey, Depends(_intake_key)]
OrdersWrite = Annotated[Principal, require(ORDERS_WRITE)]
OrdersRead = Annotated[Principal, require(ORDERS_READ)]
OrderId = Annotated[str, Path(min_length=1, max_length=40, examples=["ord_0f8b6c1d2e3a4b5c6d7e8f9a0b1c2d3e"])]


UPSTREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    502: problem_doc("The ERP could not be asked (unavailable or an unexpected answer); retry with the same key."),
    503: problem_doc("The ERP is over its call quota right now; retry with the same key after Retry-After."),
    504: problem_doc("The ERP did not answer in time; retry with the same key."),
}

router = APIRouter(prefix="/v1", tags=["orders"], dependencies=[Depends(_acting_partner_header)])


@router.post(
    "/orders",
    status_code=202,
    operation_id="submitOrder",
    summary="Submit an order",
    response_description="The order is recorded; follow it at `status_url` (also in `Location`).",
    responses={
        202: {
            "description": "The order is recorded in status received and will be processed; a retry with "
            "the same Idempotency-Key and body replays this answer.",
            "headers": {"Location": {"description": "The order's status URL.", "schema": {"type": "string"}}},
        },
        409: {
            "description": "This channel order was already received under another Idempotency-Key "
            "(`existing_order_id` names it), or a request with this key is still being processed."
        },
        422: {
            "description": "The body is not valid, breaks a business rule (unknown or inactive customer, "
            "currency, unknown or discontinued SKU) or reuses the Idempotency-Key with another body; "
            "`errors` names each field."
        },
        **UPSTREAM_RESPONSES,
    },
)
@precomputed  # intake: served without FastAPI's per-request solver (service_kit.precomputed)
async def submit_order(
    body: OrderCreate,
    principal: OrdersWrite,
    key: IntakeKeyDep,
    erp: Erp,
    request: Request,
    response: Response,
) -> OrderAccepted:
    receipt = await intake.take_in(
        engine=request.app.state.db.engine,
        writer=intake.writer_of(request.app),
        key=key,
        erp=erp,
        order=body,
        partner_id=principal.acting_partner,
    )
    response.status_code = receipt.status_code
    response.headers["Location"] = receipt.accepted.status_url
    if receipt.created:
        request.app.state.metrics.orders_counter(channel=body.channel, outcome="received").inc()
        # The order is committed (take_in returns once it is). Called here on the event loop, not
        # as a background task: a sync one runs in the threadpool, and the wakeup is not thread-safe.
        wake_worker(request.app)
    return receipt.accepted


async def _entry_fingerprints(request: Request) -> list[str]:
    return intake_batch.entry_fingerprints(await request.body())


@router.post(
    "/order-batches",
    operation_id="submitOrderBatch",
    summary="Submit several orders at once",
    description="Up to 100 orders for the partner the call acts for, each taken in on its own exactly as "
    "`POST /v1/orders` takes it, under its own `idempotency_key` (the same key sent alone or in a batch is the "
    "same key): every entry gets the status and body that call would answer (the order accepted, or the "
    "problem), and a refused entry writes nothing while the others are taken in.",
    responses={422: problem_doc("The batch itself is malformed (no entries, more than 100, or an invalid entry).")},
)
@precomputed  # a channel's forwarded intake: served without FastAPI's per-request solver
async def submit_order_batch(
    body: intake_batch.OrderBatchCreate,
    principal: OrdersWrite,
    fingerprints: Annotated[list[str], Depends(_entry_fingerprints)],
    erp: Erp,
    request: Request,
) -> intake_batch.OrderBatchResult:
    outcomes = await intake_batch.take_in_batch(
        engine=request.app.state.db.engine,
        writer=intake.writer_of(request.app),
        scope=principal.client_id,
        erp=erp,
        entries=body.entries,
        fingerprints=fingerprints,
        partner_id=principal.acting_partner,
    )
    created = [entry.order.channel for entry, outcome in zip(body.entries, outcomes, strict=True) if outcome.created]
    for channel in created:
        request.app.state.metrics.orders_counter(channel=channel, outcome="received").inc()
    if created:
        wake_worker(request.app)
    return intake_batch.OrderBatchResult(results=[outcome.result for outcome in outcomes])


@router.get(
    "/orders/{order_id}",
    operation_id="getOrder",
    summary="Get an order",
    responses={
        200: {"description": "The order, with its status and, once processed, prices and ERP number."},
        404: {"description": "No such order, or it belongs to another partner."},
    },
)
@precomputed  # the status read every channel polls: served without FastAPI's per-request solver
async def get_order(order_id: OrderId, principal: OrdersRead, conn: ReadConnDep) -> Order:
    return await service.get_order(session=conn, order_id=order_id, partner_id=principal.acting_partner)


@router.get(
    "/orders",
    operation_id="listOrders",
    summary="Find orders",
    responses={200: {"description": "The matching orders (the acting partner's only), oldest first."}},
)
async def list_orders(
    principal: OrdersRead,
    session: SessionDep,
    channel: Annotated[str | None, Query(max_length=32, examples=["marketplace"])] = None,
    channel_order_id: Annotated[str | None, Query(max_length=64, examples=["MP-1001"])] = None,
    status: Annotated[OrderStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> OrderList:
    return await service.list_orders(
        session=session,
        partner_id=principal.acting_partner,
        channel=channel,
        channel_order_id=channel_order_id,
        status=status,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/orders/{order_id}/cancel",
    status_code=202,
    operation_id="cancelOrder",
    summary="Cancel an order",
    responses={
        202: {
            "description": "The cancellation is recorded and runs in the background (or the order is already "
            "cancelled). Follow the order: it ends `cancelled`, or keeps its status with `cancel_outcome` "
            "saying it was too late (already picked)."
        },
        404: {"description": "No such order, or it belongs to another partner."},
        409: {
            "description": "Too late (shipped) or nothing to cancel (rejected): `order_status` says where the "
            "order stands; or a request with this key is still being processed."
        },
        422: {"description": "The body is not valid, or the Idempotency-Key was used with another body."},
    },
)
async def cancel_order(
    order_id: OrderId,
    body: OrderCancel,
    principal: OrdersWrite,
    idem: IdempotencyDep,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> CancelAccepted:
    answer = await service.request_cancellation(
        session=session, idem=idem, order_id=order_id, partner_id=principal.acting_partner, reason=body.reason
    )
    # An async background task: it runs after the response, so after the session committed, and
    # on the event loop (a sync one would run the non-thread-safe wakeup in the threadpool).
    background.add_task(_wake_worker_after_commit, request.app)
    return answer


async def _wake_worker_after_commit(app: FastAPI) -> None:
    wake_worker(app)
