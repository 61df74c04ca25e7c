"""Order intake in batches (POST /v1/order-batches): several orders of one caller, acting for one
partner, in one call, each taken in exactly as POST /v1/orders takes it (``intake.take_in``).

Why: an experience API forwards every order it takes in; one HTTP call per order cost the caller
and this service more CPU than the order's own work (the server, the middleware, the token check,
the routing: about half of this service's CPU per order under intake's load, bench/intake.py).
A batch pays them once, and its orders join one group commit (``intake_writer``).

Each entry keeps the single call's guarantees:
- its own Idempotency-Key, scoped to the caller as on the single call, with the fingerprint the
  single call would compute for the same order (``fingerprint`` over the entry's JSON, with the
  single operation's method and path): a key first sent alone and then in a batch, or the other
  way round, replays rather than refusing;
- its own answer: the status and body (the order accepted, or the problem+json) the single call
  would answer, a refused entry writing nothing while the others are taken in;
- its own correlation id, recorded with the order as the single call records the request's.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import OrderAccepted, OrderCreate
from process_apis.orders import intake
from process_apis.orders.intake_writer import IntakeWriter
from process_apis.orders.masterdata import CachedErp
from service_kit.correlation import bind_request_identity, current_traceparent
from service_kit.errors import InterchangeError, UnprocessableContent
from service_kit.idempotency import MAX_KEY_LENGTH, fingerprint

#: The single operation whose answers a batch entry gives (and whose fingerprints its keys share).
SINGLE_METHOD, SINGLE_PATH = "POST", "/v1/orders"
MAX_ENTRIES = 100

Key = Annotated[str, Field(min_length=1, max_length=MAX_KEY_LENGTH, pattern=r"\S", examples=["marketplace:acme:1"])]
CorrelationId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:\-]{1,128}$", examples=["3f2a9c"])]


class OrderBatchEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idempotency_key: Key
    #: The correlation id of the request this order came in with (recorded with the order);
    #: without it, the batch call's own.
    correlation_id: CorrelationId | None = None
    order: OrderCreate

    @field_validator("order", mode="before")
    @classmethod
    def _as_published(cls, value: Any) -> Any:
        """The order validated strictly, as the published schema types it (no ``0`` for ``false``):
        a lax coercion would be taken in and answered inside a 200, where the single call's own
        answer (a 409 for the order already there, say) would not show it as the caller's mistake."""
        if isinstance(value, dict):
            return OrderCreate.model_validate_json(json.dumps(value), strict=True)
        return value


_EXAMPLE: dict[str, Any] = {
    "entries": [
        {
            "idempotency_key": "marketplace:acme-market:MP-1001",
            "correlation_id": "8f2b6c1e-4d7a-4b0e-9c55-3f1f7a2d9e10",
            "order": OrderCreate.model_json_schema()["examples"][0],
        }
    ]
}


class OrderBatchCreate(BaseModel):
    """Orders to take in at once, for the partner the call acts for; each on its own."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    entries: Annotated[list[OrderBatchEntry], Field(min_length=1, max_length=MAX_ENTRIES)]


class OrderBatchEntryResult(BaseModel):
    """What POST /v1/orders would have answered for this entry: its status, and the order accepted
    (2xx) or the problem (RFC 9457 members), with the Retry-After it would have sent."""

    status: int
    order: OrderAccepted | None = None
    problem: dict[str, Any] | None = None
    retry_after: str | None = None


class OrderBatchResult(BaseModel):
    """One result per entry, in the order of the entries."""

    results: list[OrderBatchEntryResult]


@dataclass(frozen=True, slots=True)
class Outcome:
    result: OrderBatchEntryResult
    created: bool  # a new order was recorded (not a replay, not refused)


def entry_fingerprints(body: bytes) -> list[str]:
    """Each entry's fingerprint as POST /v1/orders computes it for the same order (its JSON as
    sent: the kit's fingerprint canonicalises it). Unreadable entries get none: the body's own
    validation refuses them."""
    try:
        entries = json.loads(body)["entries"]
        return [fingerprint(SINGLE_METHOD, SINGLE_PATH, json.dumps(entry["order"]).encode()) for entry in entries]
    except (ValueError, TypeError, KeyError):
        return []


async def take_in_batch(
    *,
    engine: AsyncEngine,
    writer: IntakeWriter[intake.Receipt],
    scope: str,
    erp: CachedErp,
    entries: list[OrderBatchEntry],
    fingerprints: list[str],
    partner_id: str | None,
) -> list[Outcome]:
    """Every entry taken in on its own, all at once, so that their writes share the writer's next
    batch. A failure that is not an answer (the database is down) fails the call, as it fails the
    single one; entries already recorded then replay on the retry."""
    if len(fingerprints) != len(entries):
        raise UnprocessableContent("The batch's entries could not be read; send each as a JSON object.")
    return list(
        await asyncio.gather(
            *(
                _take_in_one(
                    engine=engine, writer=writer, scope=scope, erp=erp, entry=entry, fp=fp, partner_id=partner_id
                )
                for entry, fp in zip(entries, fingerprints, strict=True)
            )
        )
    )


async def _take_in_one(
    *,
    engine: AsyncEngine,
    writer: IntakeWriter[intake.Receipt],
    scope: str,
    erp: CachedErp,
    entry: OrderBatchEntry,
    fp: str,
    partner_id: str | None,
) -> Outcome:
    # A task of its own (gather): the correlation id bound here is this entry's only.
    bound = bind_request_identity(entry.correlation_id, current_traceparent()) if entry.correlation_id else None
    try:
        receipt = await intake.take_in(
            engine=engine,
            writer=writer,
            key=intake.IntakeKey(scope, entry.idempotency_key.strip(), fp),
            erp=erp,
            order=entry.order,
            partner_id=partner_id,
        )
    except InterchangeError as exc:
        problem = exc.to_problem(SINGLE_PATH)
        result = OrderBatchEntryResult(status=exc.status, problem=problem, retry_after=exc.headers.get("Retry-After"))
        return Outcome(result, created=False)
    finally:
        if bound is not None:
            bound.reset()
    return Outcome(OrderBatchEntryResult(status=receipt.status_code, order=receipt.accepted), created=receipt.created)


__all__ = [
    "MAX_ENTRIES",
    "OrderBatchCreate",
    "OrderBatchEntry",
    "OrderBatchEntryResult",
    "OrderBatchResult",
    "Outcome",
    "entry_fingerprints",
    "take_in_batch",
]
