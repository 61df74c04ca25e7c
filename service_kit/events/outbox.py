"""Transactional outbox: an event commits with the change it reports, and is published after.

``add_event`` writes the event into ``event_outbox`` in the caller's session, so it commits or
rolls back with the business change (nothing is published for a rolled-back change). The relay
(``relay_outbox``, or ``outbox_relay()`` as a ``create_service_app`` worker, woken by the commit)
reads committed, unpublished rows in insertion order, publishes them to the bus in one batch and then marks them
published. A crash (or a bus failure) between publishing and marking republishes the batch on
the next pass: delivery is at least once, and idempotent consumers make the effect exactly once.
Replicas may each run a relay over one database: a pass locks the rows it publishes (PostgreSQL's
``FOR UPDATE``), so another replica's pass waits for them instead of publishing them again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import DateTime, Integer, String, Table, Text, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from contracts.events import CloudEvent
from service_kit.db import Database, KitBase
from service_kit.events.port import Publisher
from service_kit.workers import notify_after_commit, run_worker, wakeup_for

log = structlog.get_logger("service_kit.events.outbox")

#: The topic of the relay's wake-up (``service_kit.workers.wakeup_for``).
OUTBOX = "outbox"


class OutboxRecord(KitBase):
    __tablename__ = "event_outbox"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    envelope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


def _now() -> datetime:
    return datetime.now(UTC)


def stage_event(*, session: AsyncSession, event: CloudEvent) -> None:
    """Add ``event`` to the caller's transaction without flushing (for synchronous callers); the
    relay publishes it once that transaction commits (the commit wakes it)."""
    notify_after_commit(session=session, topic=OUTBOX)
    session.add(OutboxRecord(**_row(event, _now())))


def _row(event: CloudEvent, now: datetime) -> dict[str, Any]:
    """The outbox row of ``event``, one shape for ``stage_event`` and ``add_events``."""
    return {
        "event_id": event.id,
        "type": event.type,
        "subject": event.subject,
        "envelope": event.model_dump_json(),
        "created_at": now,
        "attempts": 0,
    }


async def add_events(*, session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    """Record ``events`` in the caller's transaction in one statement (a publisher's batch: no
    ORM object per event); the relay publishes them once that commits."""
    if not events:
        return
    now = _now()
    await session.execute(insert(_OUTBOX), [_row(e, now) for e in events])
    notify_after_commit(session=session, topic=OUTBOX)


async def add_event(*, session: AsyncSession, event: CloudEvent) -> None:
    """Record ``event`` in the caller's transaction; the relay publishes it once that commits."""
    stage_event(session=session, event=event)
    await session.flush()


_OUTBOX = cast(Table, OutboxRecord.__table__)
# FOR UPDATE: replicas of a service run a relay each over one outbox (PostgreSQL). A pass locks
# its rows until its mark commits; another replica's pass waits for them, then finds them
# published and takes the next ones: each row is published once, in commit order (SKIP LOCKED
# would publish later rows first). SQLite renders no FOR UPDATE: one process writes its file.
_DUE = (
    select(_OUTBOX.c.seq, _OUTBOX.c.envelope)
    .where(_OUTBOX.c.published_at.is_(None))
    .order_by(_OUTBOX.c.seq)
    .limit(bindparam("batch_size"))
    .with_for_update()
)
# Built once (building a statement per pass was ~10% of the pass): the rows of a pass by seq.
_PASSED = update(_OUTBOX).where(_OUTBOX.c.seq.in_(bindparam("seqs", expanding=True)))
_MARK_SENT = _PASSED.values(published_at=bindparam("sent_at"), attempts=_OUTBOX.c.attempts + 1, last_error=None)
_MARK_FAILED = _PASSED.values(attempts=_OUTBOX.c.attempts + 1, last_error=bindparam("error"))


async def relay_outbox(*, db: Database, bus: Publisher, batch_size: int = 100) -> int:
    """One pass: publish up to ``batch_size`` committed rows in order, then mark them published.
    Returns how many were published; raises (leaving the rows unmarked) when the bus fails.

    One session and one transaction for the pass: the select, the append to the bus (another
    database, or Redis) and the mark. The mark commits only after the bus took the batch, so a
    crash in between rolls the mark back and the next pass sends the batch again (at least once,
    as before); with SQLite the select takes no lock, and the write lock is taken only by the
    mark, after the append. Core statements: no ORM object or bulk-update bookkeeping per pass."""
    failure: Exception | None = None
    async with db.transaction() as session:
        rows = (await session.execute(_DUE, {"batch_size": batch_size})).all()
        if not rows:
            return 0
        seqs = [seq for seq, _ in rows]
        try:
            await bus.publish(events=[CloudEvent.model_validate_json(envelope) for _, envelope in rows])
        except Exception as exc:  # the failure is recorded on the rows (committed), then raised
            failure = exc
            await session.execute(_MARK_FAILED, {"seqs": seqs, "error": repr(exc)[:4000]})
        else:
            await session.execute(_MARK_SENT, {"seqs": seqs, "sent_at": _now()})
    if failure is not None:
        raise failure
    return len(rows)


async def prune_outbox(*, db: Database, older_than: timedelta = timedelta(days=1)) -> int:
    """Forget rows published more than ``older_than`` ago. Returns how many went."""
    async with db.transaction() as session:
        result: Any = await session.execute(
            delete(OutboxRecord).where(
                OutboxRecord.published_at.is_not(None), OutboxRecord.published_at < _now() - older_than
            )
        )
    return int(result.rowcount or 0)


async def run_relay(
    *,
    db: Database,
    bus: Publisher,
    batch_size: int = 100,
    idle_seconds: float = 0.5,
    max_idle_seconds: float = 5.0,
    linger: float = 0.02,
    keep: timedelta = timedelta(days=1),
    prune_every: float = 3600.0,
    stop_event: asyncio.Event | None = None,
) -> None:
    """Relay until ``stop_event`` is set (or cancelled), on the worker runtime: drain while there
    is work; idle, wake when a transaction that staged an event commits (``stage_event`` notifies
    ``wakeup_for(db=db, topic=OUTBOX)``), else look again after ``idle_seconds`` doubling up to
    ``max_idle_seconds`` (rows written some other way are found then).

    ``linger``: seconds a pass waits before its select unless the pass before it was full, so the
    commits of that moment go out in one pass (a pass costs about the same for one event as for
    several). A pass that was not full took every row committed before its select, and a commit
    after that notified the wake-up while the pass ran, so such a pass reports no further work:
    the runtime then runs the next pass on that notification, not a second, empty look at once.

    A failed pass is simply the next pass's work (the rows stay unpublished), so the runtime's
    retry with a capped exponential pause is the retry: a bus outage is not hammered.
    """
    loop = asyncio.get_running_loop()
    next_prune = loop.time()
    full = False

    async def relay_once() -> int:
        nonlocal next_prune, full
        if linger > 0 and not full:
            await asyncio.sleep(linger)
        published = await relay_outbox(db=db, bus=bus, batch_size=batch_size)
        full = published >= batch_size
        if not full and loop.time() >= next_prune:
            next_prune = loop.time() + prune_every
            await prune_outbox(db=db, older_than=keep)
        return published if full else 0

    await run_worker(
        "outbox_relay",
        relay_once,
        wakeup=wakeup_for(db=db, topic=OUTBOX),
        stop_event=stop_event or asyncio.Event(),
        idle_backoff=(idle_seconds, max(idle_seconds, max_idle_seconds)),
    )


__all__ = [
    "OUTBOX",
    "OutboxRecord",
    "add_event",
    "add_events",
    "prune_outbox",
    "relay_outbox",
    "run_relay",
    "stage_event",
]
