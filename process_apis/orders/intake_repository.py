"""Intake's SQL: the Idempotency-Key's answer, the order, its lines and its first history entry,
written as Core statements built once (values bound at execution) on the request's one connection.
Nothing here commits: ``intake.take_in`` owns the transaction.

The key's row is the kit's table (``service_kit.idempotency``), so a retry meets the same row
whichever path wrote it; intake writes it already ``done``, with its answer, in the order's own
transaction, so no in-flight marker is ever committed on its own (see ``intake``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from process_apis.orders.models import NO_PARTNER, OrderLineRow, OrderRow, OrderStatusChange
from service_kit.idempotency import IdempotencyRecord

_KEYS = cast(Table, IdempotencyRecord.__table__)
_ORDERS = cast(Table, OrderRow.__table__)
_CLAIM_DONE = {
    "sqlite": sqlite.insert(_KEYS).on_conflict_do_nothing(),
    "postgresql": postgresql.insert(_KEYS).on_conflict_do_nothing(),
}
_READ_KEY = select(
    _KEYS.c.fingerprint, _KEYS.c.state, _KEYS.c.locked_until, _KEYS.c.status_code, _KEYS.c.response_body
).where(_KEYS.c.scope == bindparam("scope"), _KEYS.c.key == bindparam("key"))
#: A key whose first request died in flight (a marker the kit's claim left) is taken over once its
#: lease is over, and answered in the same statement.
_TAKE_OVER = (
    update(_KEYS)
    .where(
        _KEYS.c.scope == bindparam("b_scope"),
        _KEYS.c.key == bindparam("b_key"),
        _KEYS.c.state == "in_flight",
        _KEYS.c.locked_until <= bindparam("b_now"),
    )
    .values(
        fingerprint=bindparam("b_fingerprint"),
        state="done",
        status_code=bindparam("b_status"),
        response_body=bindparam("b_body"),
    )
)
_INSERT_KEYS = insert(_KEYS)
_INSERT_ORDER = insert(_ORDERS)
_INSERT_LINES = insert(cast(Table, OrderLineRow.__table__))
_INSERT_HISTORY = insert(cast(Table, OrderStatusChange.__table__))
_ID_BY_NATURAL_KEY = select(_ORDERS.c.id).where(
    _ORDERS.c.channel == bindparam("channel"),
    _ORDERS.c.partner_id == bindparam("partner_id"),
    _ORDERS.c.channel_order_id == bindparam("channel_order_id"),
)


@dataclass(frozen=True, slots=True)
class KeyAnswer:
    """A key of a client (``scope``), the fingerprint of its request and the answer to keep."""

    scope: str
    key: str
    fingerprint: str
    status_code: int
    body: str
    now: datetime


@dataclass(frozen=True, slots=True)
class StoredKey:
    """What is stored under a key: the request it came with and, once done, its answer."""

    fingerprint: str
    state: str
    locked_until: datetime
    status_code: int | None
    response_body: str | None


async def claim_answered(conn: AsyncConnection, answer: KeyAnswer) -> bool:
    """Store the key with its answer unless it is there already; whether it was stored."""
    values = key_row(answer)
    claim = _CLAIM_DONE.get(conn.dialect.name)
    if claim is not None:
        return getattr(await conn.execute(claim, values), "rowcount", 0) == 1
    try:  # other databases: a savepoint, so a duplicate key does not end the transaction
        async with conn.begin_nested():
            await conn.execute(insert(_KEYS), values)
    except IntegrityError:
        return False
    return True


async def read_key(conn: AsyncConnection, *, scope: str, key: str) -> StoredKey | None:
    row = (await conn.execute(_READ_KEY, {"scope": scope, "key": key})).first()
    return None if row is None else StoredKey(*row)


async def take_over(conn: AsyncConnection, answer: KeyAnswer) -> bool:
    """Answer a key left in flight past its lease; False when it is not (or no longer) so."""
    params = {
        "b_scope": answer.scope,
        "b_key": answer.key,
        "b_now": answer.now,
        "b_fingerprint": answer.fingerprint,
        "b_status": answer.status_code,
        "b_body": answer.body,
    }
    return getattr(await conn.execute(_TAKE_OVER, params), "rowcount", 0) == 1


async def insert_received(
    conn: AsyncConnection,
    *,
    order: dict[str, Any],
    lines: list[dict[str, Any]],
    history: dict[str, Any],
) -> None:
    """The order (columns left out take their defaults), its lines in one executemany and its
    first history entry. Raises IntegrityError when another order holds its natural key."""
    await conn.execute(_INSERT_ORDER, order)
    if lines:
        await conn.execute(_INSERT_LINES, lines)
    await conn.execute(_INSERT_HISTORY, history)


async def insert_batch(
    conn: AsyncConnection,
    *,
    keys: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    lines: list[dict[str, Any]],
    history: list[dict[str, Any]],
) -> None:
    """Many orders at once, one ``executemany`` per table (every dict of a list has the same
    columns). Plain inserts: a key or an order already there raises IntegrityError."""
    await conn.execute(_INSERT_KEYS, keys)
    await conn.execute(_INSERT_ORDER, orders)
    if lines:
        await conn.execute(_INSERT_LINES, lines)
    await conn.execute(_INSERT_HISTORY, history)


def key_row(answer: KeyAnswer) -> dict[str, Any]:
    """The key's row, answered (``done``)."""
    return {
        "scope": answer.scope,
        "key": answer.key,
        "fingerprint": answer.fingerprint,
        "state": "done",
        "locked_until": answer.now,
        "status_code": answer.status_code,
        "response_body": answer.body,
        "created_at": answer.now,
    }


async def order_holding(
    conn: AsyncConnection, *, channel: str, partner_id: str | None, channel_order_id: str
) -> str | None:
    """The id of the order holding the natural key, if any."""
    params = {"channel": channel, "partner_id": partner_id or NO_PARTNER, "channel_order_id": channel_order_id}
    found: str | None = (await conn.execute(_ID_BY_NATURAL_KEY, params)).scalar_one_or_none()
    return found


__all__ = [
    "KeyAnswer",
    "StoredKey",
    "claim_answered",
    "insert_batch",
    "insert_received",
    "key_row",
    "order_holding",
    "read_key",
    "take_over",
]
