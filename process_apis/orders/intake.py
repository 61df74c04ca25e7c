"""Order intake (POST /v1/orders): validate, then record the order and the Idempotency-Key's answer
in one transaction.

Why not the kit's ``Idempotency`` here: it commits an in-flight marker on its own before the work
and writes the answer in a second transaction, so every order cost two commits and an ORM session.
Intake needs neither: the validation before the write reads only the master data copy, so the key,
the order, its lines and its first history entry can all go in one Core transaction, with the
answer stored as ``done`` at once. The key's guarantees stay those of the kit, on its own table:

- same key, same body: the first answer is replayed (before validation is even looked at);
- same key, another body: 422, and nothing is written;
- same key at the same time: the database serialises the two inserts of the key, so the second
  waits for the first to commit and replays its answer (a 409 only for a marker the kit's claim
  left in flight, until its lease is over; then the key is taken over);
- a request that fails (validation, duplicate order, crash) leaves nothing, key included.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import OrderAccepted, OrderCreate, OrderStatus
from process_apis.orders import intake_repository as sql
from process_apis.orders.intake_writer import IntakeWriter, Rows
from process_apis.orders.masterdata import CachedErp
from process_apis.orders.models import NO_PARTNER, SagaStep
from process_apis.orders.service import check_order, status_url
from service_kit.correlation import current_correlation_id
from service_kit.errors import Conflict, InterchangeError, UnprocessableContent

ACCEPTED = 202


@dataclass(frozen=True, slots=True)
class IntakeKey:
    """The request's Idempotency-Key: its client's scope, the key and the body's fingerprint."""

    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Receipt:
    """The intake answer; ``created`` is False when it replays an earlier one."""

    status_code: int
    accepted: OrderAccepted
    created: bool


async def take_in(
    *,
    engine: AsyncEngine,
    writer: IntakeWriter[Receipt] | None,
    key: IntakeKey,
    erp: CachedErp,
    order: OrderCreate,
    partner_id: str | None,
) -> Receipt:
    """Validate, then record the order with its key's answer: in ``writer``'s next batch (group
    commit), or on its own without one."""
    try:
        await check_order(erp=erp, order=order)
    except InterchangeError:
        # A retry of an answered key replays the answer whatever the master data says now.
        async with engine.connect() as conn:
            stored = await sql.read_key(conn, scope=key.scope, key=key.key)
        if stored is not None:
            return _replayed(stored, key)
        raise
    now = datetime.now(UTC)
    order_id = f"ord_{uuid.uuid4().hex}"
    accepted = OrderAccepted(id=order_id, status=OrderStatus.received, status_url=status_url(order_id))
    body = accepted.model_dump_json()  # pydantic-core writes it: a tenth of json.dumps(model_dump())
    answer = sql.KeyAnswer(key.scope, key.key, key.fingerprint, ACCEPTED, body, now)
    rows = _rows(order, order_id=order_id, partner_id=partner_id, at=now)

    async def on_its_own() -> Receipt:
        return await record_one(engine=engine, key=key, answer=answer, order=order, partner_id=partner_id, rows=rows)

    if writer is None:
        return await on_its_own()
    batched = Rows(key=sql.key_row(answer), order=rows["order"], lines=rows["lines"], history=rows["history"])
    return await writer.write(batched, written=Receipt(ACCEPTED, accepted, created=True), one=on_its_own)


async def record_one(
    *,
    engine: AsyncEngine,
    key: IntakeKey,
    answer: sql.KeyAnswer,
    order: OrderCreate,
    partner_id: str | None,
    rows: dict[str, Any],
) -> Receipt:
    """One order in a transaction of its own: the key first, so a key already there answers the
    replay (or the 422, or the 409 while another request holds it), then the order, whose unique
    natural key refuses a duplicate."""
    try:
        async with engine.begin() as conn:  # rolled back whole on any error, the key's row included
            if not await sql.claim_answered(conn, answer):
                stored = await sql.read_key(conn, scope=key.scope, key=key.key)
                if stored is None or stored.state == "done" or stored.fingerprint != key.fingerprint:
                    return _replayed(stored, key)  # nothing written: the transaction ends empty
                if not await sql.take_over(conn, answer):
                    raise _in_flight()
            await sql.insert_received(conn, **rows)
    except IntegrityError:
        # Another order holds the natural key (the order's unique constraint): no second look
        # before the insert, the constraint is the check.
        async with engine.connect() as conn:
            existing = await sql.order_holding(
                conn, channel=order.channel, partner_id=partner_id, channel_order_id=order.channel_order_id
            )
        raise _duplicate(order, existing) from None
    return Receipt(ACCEPTED, OrderAccepted.model_validate_json(answer.body), created=True)


def _replayed(stored: sql.StoredKey | None, key: IntakeKey) -> Receipt:
    if stored is None:  # its first request failed between our claim and this read: try again
        raise _in_flight()
    if stored.fingerprint != key.fingerprint:
        raise UnprocessableContent(
            "This Idempotency-Key was already used with a different request body; "
            "use a new key for a different request."
        )
    if stored.state != "done":
        raise _in_flight()
    body = json.loads(stored.response_body or "null")
    return Receipt(stored.status_code or ACCEPTED, OrderAccepted.model_validate(body), created=False)


def _rows(order: OrderCreate, *, order_id: str, partner_id: str | None, at: datetime) -> dict[str, Any]:
    """The order in status received (columns left out take their defaults), its lines and its
    first history entry, as column values."""
    correlation_id = current_correlation_id()
    return {
        "order": {
            "id": order_id,
            "channel": order.channel,
            "channel_order_id": order.channel_order_id,
            "partner_id": partner_id or NO_PARTNER,
            "customer_id": order.customer_id,
            "currency": order.currency,
            "ship_to": order.ship_to.model_dump(mode="json") if order.ship_to else None,
            "split_allowed": order.split_shipments_allowed,
            "status": OrderStatus.received.value,
            "saga_active": True,
            "saga_step": SagaStep.price_order.value,
            "attempts": 0,
            "compensation": [],
            "correlation_id": correlation_id,
            "created_at": at,
            "updated_at": at,
        },
        "lines": [
            {
                "order_id": order_id,
                "line_no": number,
                "sku": line.sku,
                "quantity": line.quantity.value,
                "unit": line.quantity.unit,
            }
            for number, line in enumerate(order.lines, start=1)
        ],
        "history": {
            "order_id": order_id,
            "from_status": None,
            "to_status": OrderStatus.received.value,
            "reason": None,
            "correlation_id": correlation_id,
            "changed_at": at,
        },
    }


def _in_flight() -> Conflict:
    return Conflict(
        "A request with this Idempotency-Key is still being processed; retry later.",
        headers={"Retry-After": "1"},
    )


def _duplicate(order: OrderCreate, existing_id: str | None) -> Conflict:
    which = f" as {existing_id}" if existing_id else ""
    return Conflict(
        f"Order {order.channel_order_id} of channel {order.channel} was already received{which}; "
        "follow that order instead of submitting it again.",
        existing_order_id=existing_id,
    )


def writer_of(app: Any) -> IntakeWriter[Receipt]:
    """The app's intake writer, made on first use (one per process, on its database's engine)."""
    writer: IntakeWriter[Receipt] | None = getattr(app.state, "intake_writer", None)
    if writer is None:
        writer = app.state.intake_writer = IntakeWriter(app.state.db.engine)
    return writer


__all__ = ["IntakeKey", "Receipt", "record_one", "take_in", "writer_of"]
