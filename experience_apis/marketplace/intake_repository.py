"""Intake's writes, as statements built once (values bound at execution) for the group-commit
writer (``intake_writer``): the Idempotency-Key's claim, its answer, and the submitted order's row.

The key's row is the kit's table (``service_kit.idempotency``) with the kit's meaning: claimed
``in_flight`` with a lease, then ``done`` with the answer, in the transaction that records the
order. Only how the rows get there differs: many requests' claims (and answers) commit together.
A claim the batch cannot take (the key is there already) is made on its own by the kit's
``Idempotency.start``, which replays, refuses (422) or answers 409 as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import Table, bindparam, delete, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from experience_apis.marketplace.intake_writer import Statement
from experience_apis.marketplace.models import SubmittedOrder
from service_kit.idempotency import IdempotencyRecord

#: How long a claim holds its key before another request may take it over (the kit's default).
LEASE = timedelta(seconds=60)

_KEYS = cast(Table, IdempotencyRecord.__table__)
_CLAIM = insert(_KEYS)
_ANSWER = (
    update(_KEYS)
    .where(_KEYS.c.scope == bindparam("b_scope"), _KEYS.c.key == bindparam("b_key"))
    .values(state="done", status_code=bindparam("b_status"), response_body=bindparam("b_body"))
)
_ABANDON = delete(_KEYS).where(
    _KEYS.c.scope == bindparam("b_scope"), _KEYS.c.key == bindparam("b_key"), _KEYS.c.state == "in_flight"
)
_RECORD = insert(cast(Table, SubmittedOrder.__table__))


@dataclass(frozen=True, slots=True)
class IntakeKey:
    """The request's Idempotency-Key: its client's scope, the key and the body's fingerprint (the
    kit's ``fingerprint``)."""

    scope: str
    key: str
    fingerprint: str


def claim(key: IntakeKey) -> Statement:
    """The key, in flight: a plain insert, so a key already there fails the batch."""
    now = datetime.now(UTC)
    return _CLAIM, {
        "scope": key.scope,
        "key": key.key,
        "fingerprint": key.fingerprint,
        "state": "in_flight",
        "locked_until": now + LEASE,
        "created_at": now,
    }


def answer(key: IntakeKey, *, status_code: int, body: BaseModel) -> Statement:
    """The key's answer (the key is ours: claimed before the work), as the JSON the kit replays."""
    return _ANSWER, {"b_scope": key.scope, "b_key": key.key, "b_status": status_code, "b_body": body.model_dump_json()}


def record(values: dict[str, Any]) -> Statement:
    """A new submitted order's row: a plain insert, so one already there fails the batch."""
    return _RECORD, values


async def abandon(conn: AsyncConnection, key: IntakeKey) -> None:
    """Free a key whose request failed, so a retry starts over (only while it is in flight)."""
    await conn.execute(_ABANDON, {"b_scope": key.scope, "b_key": key.key})


__all__ = ["LEASE", "IntakeKey", "abandon", "answer", "claim", "record"]
