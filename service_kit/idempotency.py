"""Idempotency keys with Stripe's semantics, kept in the service's own database.

- same key, same body: the first answer (status and body) is replayed;
- same key, another body: 422;
- same key while the first request is still running: 409;
- keys are scoped per client and kept at least 24 hours (``prune`` removes older ones);
- a request that fails (validation, business rule, crash) stores nothing, so it can be retried.

The in-flight marker is committed on its own, so concurrent requests see it; the final answer is
written in the request's own transaction, so it commits together with the business effect. A
marker left by a crashed process expires after ``lease`` seconds and is then taken over.

A new key (every first request) costs one statement: ``INSERT ... ON CONFLICT DO NOTHING`` claims
it; only a key already there is read back. Statements go to the table (Core), not through ORM
objects: intake is the hot path and the ORM's unit of work costs more than the row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy import DateTime, Integer, String, Table, Text, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from service_kit.auth import Authenticated
from service_kit.db import Database, KitBase
from service_kit.errors import BadRequest, Conflict, UnprocessableContent

MAX_KEY_LENGTH = 255
RETENTION = timedelta(hours=24)


class IdempotencyRecord(KitBase):
    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # in_flight | done
    locked_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


_KEYS: Table = IdempotencyRecord.__table__  # type: ignore[assignment]
_READ = select(_KEYS.c.fingerprint, _KEYS.c.state, _KEYS.c.locked_until, _KEYS.c.status_code, _KEYS.c.response_body)
# Every request runs these two: built once, values bound at execution (building a statement and
# its cache key per call costs more than the hand-off to SQLite).
_CLAIM = {
    "sqlite": sqlite.insert(_KEYS).on_conflict_do_nothing(),
    "postgresql": postgresql.insert(_KEYS).on_conflict_do_nothing(),
}
_FINISH = (
    update(_KEYS)
    .where(_KEYS.c.scope == bindparam("b_scope"), _KEYS.c.key == bindparam("b_key"))
    .values(state="done", status_code=bindparam("b_status"), response_body=bindparam("b_body"))
)


def _in_flight() -> Conflict:
    return Conflict(
        "A request with this Idempotency-Key is still being processed; retry later.",
        headers={"Retry-After": "1"},
    )


async def _claim_new(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Insert the in-flight marker unless the key is already there; whether it was inserted."""
    claim = _CLAIM.get(conn.dialect.name)
    if claim is not None:
        result = await conn.execute(claim, values)
        return getattr(result, "rowcount", 0) == 1
    try:  # other databases: a savepoint, so a duplicate key does not end the transaction
        async with conn.begin_nested():
            await conn.execute(insert(_KEYS).values(values))
    except IntegrityError:
        return False
    return True


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def fingerprint(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("latin-1")
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


class Idempotency:
    """One request's key. ``start`` claims it (or returns the stored answer to replay);
    ``finish`` records the answer in the request's transaction."""

    def __init__(self, db: Database, *, scope: str, key: str, fingerprint: str, lease: float = 60.0):
        self.db, self.scope, self.key, self.fingerprint = db, scope, key, fingerprint
        self.lease = timedelta(seconds=lease)
        self._claimed = False
        self._finished = False

    async def start(self) -> StoredResponse | None:
        now = _now()
        # A connection, not an ORM session: the claim is Core statements only, and a session's
        # begin, commit and close cost more than the claim's one INSERT.
        async with self.db.engine.begin() as conn:
            if await _claim_new(
                conn,
                {
                    "scope": self.scope,
                    "key": self.key,
                    "fingerprint": self.fingerprint,
                    "state": "in_flight",
                    "locked_until": now + self.lease,
                    "created_at": now,
                },
            ):
                self._claimed = True
                return None
            existing = (await conn.execute(_READ.where(_KEYS.c.scope == self.scope, _KEYS.c.key == self.key))).first()
            if existing is None:
                # Abandoned by its first request between our claim and this read: try again.
                raise _in_flight()
            if existing.fingerprint != self.fingerprint:
                raise UnprocessableContent(
                    "This Idempotency-Key was already used with a different request body; "
                    "use a new key for a different request."
                )
            if existing.state == "done":
                return StoredResponse(existing.status_code or 200, json.loads(existing.response_body or "null"))
            if _aware(existing.locked_until) > now:
                raise _in_flight()
            # The first attempt died without an answer: take the key over, unless another retry
            # just did (the lease is extended only while it is still expired).
            taken = await conn.execute(
                update(_KEYS)
                .where(
                    _KEYS.c.scope == self.scope,
                    _KEYS.c.key == self.key,
                    _KEYS.c.state == "in_flight",
                    _KEYS.c.locked_until <= now,
                )
                .values(locked_until=now + self.lease)
            )
            if getattr(taken, "rowcount", 0) != 1:
                raise _in_flight()
            self._claimed = True
            return None

    async def finish(self, session: AsyncSession, *, status_code: int, body: Any) -> None:
        await session.execute(
            _FINISH,
            {
                "b_scope": self.scope,
                "b_key": self.key,
                "b_status": status_code,
                "b_body": json.dumps(body, default=str),
            },
        )
        self._finished = True

    async def abandon(self) -> None:
        if not self._claimed or self._finished:
            return
        async with self.db.transaction() as session:
            await session.execute(
                delete(_KEYS).where(
                    _KEYS.c.scope == self.scope,
                    _KEYS.c.key == self.key,
                    _KEYS.c.state == "in_flight",
                )
            )


async def prune(db: Database, *, older_than: timedelta = RETENTION) -> int:
    async with db.transaction() as session:
        result = await session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < _now() - older_than)
        )
        return int(getattr(result, "rowcount", 0) or 0)


async def find(db: Database, *, scope: str, key: str) -> IdempotencyRecord | None:
    async with db.sessions() as session:
        return (
            await session.execute(
                select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
            )
        ).scalar_one_or_none()


#: The ``Idempotency-Key`` request header as every keyed operation declares it (a parameter named
#: ``idempotency_key``), so the contracts describe it the same way everywhere.
IdempotencyKeyHeader = Annotated[
    str,
    Header(
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="A unique key per logical request (at most 255 characters). Retrying with "
        "the same key and body replays the first answer.",
    ),
]

#: The same header, optional: for an operation published before it took a key (making a header
#: required inside a published version is a breaking change). With it the operation gets the
#: semantics above; without it the parameter is ``None`` and the operation relies on its own
#: natural key.
OptionalIdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="Optional. A unique key per logical request (at most 255 characters). Retrying "
        "with the same key and body replays the first answer; the same key with another body is a 422.",
    ),
]


async def _idempotency(
    request: Request,
    principal: Authenticated,
    idempotency_key: IdempotencyKeyHeader,
) -> AsyncIterator[Idempotency]:
    key = idempotency_key.strip()
    if not key:
        raise BadRequest("The Idempotency-Key header is empty.")
    scope = principal.client_id
    body = await request.body()
    idem = Idempotency(
        request.app.state.db,
        scope=scope,
        key=key,
        fingerprint=fingerprint(request.method, request.url.path, body),
    )
    try:
        yield idem
    except BaseException:
        await idem.abandon()
        raise
    else:
        if not idem._finished:
            await idem.abandon()


#: The key is scoped to the authenticated client.
IdempotencyDep = Annotated[Idempotency, Depends(_idempotency, scope="function")]

__all__ = [
    "Idempotency",
    "IdempotencyDep",
    "IdempotencyKeyHeader",
    "IdempotencyRecord",
    "OptionalIdempotencyKeyHeader",
    "StoredResponse",
    "prune",
]
