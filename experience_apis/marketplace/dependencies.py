"""What the routes of every version share: the partner the call is for, the repository, the
orders API client, and the documented answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.scopes import (
    MARKETPLACE_AVAILABILITY_READ,
    MARKETPLACE_ORDERS_READ,
    MARKETPLACE_ORDERS_WRITE,
    MARKETPLACE_WEBHOOKS_WRITE,
)
from experience_apis.marketplace.clients import OrdersApi, order_batches_of
from experience_apis.marketplace.intake_repository import IntakeKey
from experience_apis.marketplace.intake_writer import IntakeWriter
from experience_apis.marketplace.repository import IntakeStore, MarketplaceRepository
from service_kit.app import upstream
from service_kit.auth import Authenticated, Principal, require
from service_kit.db import ReadConnDep
from service_kit.errors import BadRequest, Forbidden
from service_kit.idempotency import IdempotencyKeyHeader, OptionalIdempotencyKeyHeader, fingerprint
from service_kit.openapi import problem_doc
from service_kit.webhooks import WebhookPolicy


# Dependencies are ``async def`` even when they do not await: FastAPI runs a plain ``def`` in the
# threadpool, a thread hand-off per dependency per request for a constructor call.
async def _intake_store(request: Request) -> IntakeStore:
    state = request.app.state
    writer: IntakeWriter | None = getattr(state, "intake_writer", None)
    if writer is None:  # one per process, on its database's engine, made on first use
        writer = state.intake_writer = IntakeWriter(state.db.engine)
    return IntakeStore(state.db, writer, directory=state.partner_directory)


async def _intake_key(request: Request, principal: Authenticated, idempotency_key: str) -> IntakeKey:
    """The kit's Idempotency-Key (same header, scope and fingerprint) for intake's batched use of
    it (``intake_repository``)."""
    key = idempotency_key.strip()
    if not key:
        raise BadRequest("The Idempotency-Key header is empty.")
    # The route's path as request.url.path has it (a fixed path: nothing to escape), without
    # building the URL object.
    body = await request.body()
    return IntakeKey(principal.client_id, key, fingerprint(request.method, request.scope["path"], body))


async def _required_key(request: Request, principal: Authenticated, idempotency_key: IdempotencyKeyHeader) -> IntakeKey:
    return await _intake_key(request, principal, idempotency_key)


async def _optional_key(
    request: Request, principal: Authenticated, idempotency_key: OptionalIdempotencyKeyHeader = None
) -> IntakeKey | None:
    """Version 1 published the key as optional (the kit's ``OptionalIdempotencyKeyHeader``)."""
    return None if idempotency_key is None else await _intake_key(request, principal, idempotency_key)


async def _read_repository(request: Request, conn: ReadConnDep) -> MarketplaceRepository[AsyncConnection]:
    """For the status reads: their one Core statement on a bare connection, no ORM session."""
    return MarketplaceRepository(conn, directory=request.app.state.partner_directory)


async def _orders(request: Request) -> OrdersApi:
    return OrdersApi(upstream(request.app, "orders"), batches=order_batches_of(request.app))


def _partner(principal: Principal) -> str:
    # A marketplace acts only as itself: the partner is the token's own, never a header.
    if not principal.partner_id:
        raise Forbidden("This API is for marketplace partners; the access token names no partner.")
    return principal.partner_id


async def _writing_partner(principal: Annotated[Principal, require(MARKETPLACE_ORDERS_WRITE)]) -> str:
    return _partner(principal)


async def _reading_partner(principal: Annotated[Principal, require(MARKETPLACE_ORDERS_READ)]) -> str:
    return _partner(principal)


async def _availability_partner(principal: Annotated[Principal, require(MARKETPLACE_AVAILABILITY_READ)]) -> str:
    return _partner(principal)


async def _webhooks_partner(principal: Annotated[Principal, require(MARKETPLACE_WEBHOOKS_WRITE)]) -> str:
    return _partner(principal)


async def _webhook_policy(request: Request) -> WebhookPolicy:
    policy: WebhookPolicy = request.app.state.webhook_policy
    return policy


Store = Annotated[IntakeStore, Depends(_intake_store)]
RequiredKey = Annotated[IntakeKey, Depends(_required_key)]
OptionalKey = Annotated[IntakeKey | None, Depends(_optional_key)]
ReadRepository = Annotated[MarketplaceRepository[AsyncConnection], Depends(_read_repository)]
Orders = Annotated[OrdersApi, Depends(_orders)]
WritingPartner = Annotated[str, Depends(_writing_partner)]
ReadingPartner = Annotated[str, Depends(_reading_partner)]
AvailabilityPartner = Annotated[str, Depends(_availability_partner)]
WebhooksPartner = Annotated[str, Depends(_webhooks_partner)]
Policy = Annotated[WebhookPolicy, Depends(_webhook_policy)]
MarketplaceOrderId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$", examples=["ACME-100234"])
]


FORBIDDEN = {
    "description": "The access token lacks the scope, names no partner, or the partner is not set up as a "
    "marketplace partner."
}
UPSTREAM: dict[int | str, dict[str, Any]] = {
    502: problem_doc("The orders service behind this API failed or is unreachable; send the request again later."),
    504: problem_doc("The orders service behind this API did not answer in time; send the request again later."),
}
SUBMIT_CONFLICT = problem_doc(
    "This marketplace_order_id was already submitted with other contents, or the same order (or a request "
    "with this Idempotency-Key) is still being taken in (see Retry-After)."
)
SUBMIT_INVALID = {
    "description": "The body is not valid, breaks a business rule (unlisted seller SKU, a currency other than the "
    "partner's) or reuses the Idempotency-Key with another body; `errors` names each field."
}
LOCATION = {"Location": {"description": "The order's status URL.", "schema": {"type": "string"}}}
