"""Batch consumers: many events applied in one transaction, with the same guarantees as
``consumer.apply_event`` (dedupe by event id, ordering by ``entityversion``).

One transaction per event costs a consumer about 0.6 ms of SQLAlchemy and a commit each
(``notes/PERFORMANCE.md``); a projection fed by a stream of state events (stock levels) can apply
hundreds per transaction and coalesce them per key. ``apply_events`` records every event id in
``processed_events`` and every subject's newest version in ``event_subject_versions`` in bulk,
then hands the handler the events that are neither duplicates nor stale, in order.

A batch whose bookkeeping or handler fails is applied again one event at a time, each in its own
transaction (``consume_events``), so a poison event is nacked alone and the others go through;
an event already recorded (a redelivery) is then a ``duplicate`` as with ``apply_event``.

Because members of a group on PostgreSQL or Redis may hold different versions of one subject at
once, a batch handler applies state guarded by its own version check (as ``apply_event``'s
conditional update does for single events): never "add 3", always "on hand is now 12 as of v7".
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Protocol, cast

import structlog
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CloudEvent
from service_kit.db import Database
from service_kit.events.consumer import EventHandler, Outcome, ProcessedEvent, SubjectVersion, nack_failed
from service_kit.events.port import Delivery, EventBus

log = structlog.get_logger("service_kit.events.batch")

#: Bound parameters per ``IN (...)`` list: far below every database's limit.
CHUNK = 500


#: The tables, for Core statements: the ORM's bulk insert costs several times more per row.
_PROCESSED = cast(Table, ProcessedEvent.__table__)


class BatchHandler(Protocol):
    """Applies ``events`` (oldest first; none a duplicate or stale) in the consumer's transaction."""

    async def __call__(self, *, session: AsyncSession, events: Sequence[CloudEvent]) -> None: ...


def each_event(handler: EventHandler) -> BatchHandler:
    """A batch handler that runs a one-event ``handler`` on each event in turn, all in the batch's
    one transaction: a consumer with per-event logic pays one transaction per batch instead of
    one per event (the whole batch is retried one event at a time if any of them fails)."""

    async def apply_each(*, session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        for event in events:
            await handler(session=session, event=event)

    return apply_each


class _Duplicate(Exception):
    pass


async def apply_events(
    *, db: Database, group: str, events: Sequence[CloudEvent], handler: BatchHandler
) -> list[Outcome]:
    """Apply ``events`` in one transaction; their outcomes, in order. Raises (nothing applied)
    when the handler does, or when an event of a batch of several was already processed."""
    if not events:
        return []
    try:
        async with db.transaction() as session:
            # The inserts come first: on SQLite they take the write lock, so the version reads
            # below and the handler run serialized with any other member of the group.
            now = _now()
            rows = [
                {
                    "consumer_group": group,
                    "event_id": e.id,
                    "event_type": e.type,
                    "outcome": Outcome.applied,
                    "processed_at": now,
                }
                for e in events
            ]
            try:
                await session.execute(insert(_PROCESSED), rows)  # one statement, on the table (Core)
            except IntegrityError as exc:
                raise _Duplicate from exc
            outcomes, fresh = await _claim_versions(session=session, group=group, events=events)
            stale = [e.id for e, outcome in zip(events, outcomes, strict=True) if outcome is Outcome.stale]
            if stale:
                await session.execute(
                    update(ProcessedEvent)
                    .where(ProcessedEvent.group == group, ProcessedEvent.event_id.in_(stale))
                    .values(outcome=Outcome.stale)
                    .execution_options(synchronize_session=False)
                )
            if fresh:
                await handler(session=session, events=fresh)
    except _Duplicate:
        if len(events) == 1:
            return [Outcome.duplicate]
        raise
    return outcomes


async def _claim_versions(
    *, session: AsyncSession, group: str, events: Sequence[CloudEvent]
) -> tuple[list[Outcome], list[CloudEvent]]:
    """Each event's outcome (applied or stale against the newest version seen, stored or earlier
    in the batch), the applied ones, and the subjects' new versions recorded."""
    subjects = list({e.subject for e in events if e.subject is not None and e.entityversion is not None})
    stored: dict[str, int] = {}
    for start in range(0, len(subjects), CHUNK):
        rows = await session.execute(
            select(SubjectVersion.subject, SubjectVersion.version).where(
                SubjectVersion.group == group, SubjectVersion.subject.in_(subjects[start : start + CHUNK])
            )
        )
        stored.update({subject: version for subject, version in rows})
    newest: dict[str, CloudEvent] = {}
    outcomes: list[Outcome] = []
    fresh: list[CloudEvent] = []
    for event in events:
        if event.subject is None or event.entityversion is None:
            outcomes.append(Outcome.applied)
            fresh.append(event)
            continue
        seen = newest.get(event.subject)
        current = seen.entityversion if seen is not None else stored.get(event.subject)
        if current is not None and event.entityversion <= current:
            outcomes.append(Outcome.stale)
            continue
        newest[event.subject] = event
        outcomes.append(Outcome.applied)
        fresh.append(event)
    now = _now()
    known = [e for s, e in newest.items() if s in stored]
    if known:
        # Conditional, as in apply_event: a version never goes back. On the table (Core), so one
        # statement runs for every row (the ORM's bulk update would match by primary key only).
        table = cast(Table, SubjectVersion.__table__)
        await session.execute(
            update(table)
            .where(
                table.c.consumer_group == group,
                table.c.subject == bindparam("s"),
                table.c.version < bindparam("v"),
            )
            .values(version=bindparam("v"), event_id=bindparam("e"), applied_at=now),
            [{"s": e.subject, "v": e.entityversion, "e": e.id} for e in known],
        )
    first = [
        {"consumer_group": group, "subject": s, "version": e.entityversion, "event_id": e.id, "applied_at": now}
        for s, e in newest.items()
        if s not in stored
    ]
    if first:
        await session.execute(insert(cast(Table, SubjectVersion.__table__)), first)
    return outcomes, fresh


async def consume_events(
    *,
    bus: EventBus,
    db: Database,
    group: str,
    consumer: str,
    types: Collection[str],
    handler: BatchHandler,
    max_messages: int = 500,
    wait_seconds: float = 0.0,
    retry_base: float = 1.0,
    retry_max: float = 300.0,
) -> list[tuple[Delivery, Outcome]]:
    """Receive once and apply the deliveries of ``types`` as one batch (the bus passes over other
    types; one that still comes, a redelivery, is acked untouched); if the batch fails, one by
    one, nacking only what fails. Acks what is done."""
    deliveries = await bus.receive(
        group=group, consumer=consumer, max_messages=max_messages, wait_seconds=wait_seconds, types=types
    )
    done: list[tuple[Delivery, Outcome]] = [(d, Outcome.ignored) for d in deliveries if d.event.type not in types]
    mine = [d for d in deliveries if d.event.type in types]
    try:
        outcomes = await apply_events(db=db, group=group, events=[d.event for d in mine], handler=handler)
        done.extend(zip(mine, outcomes, strict=True))
    except Exception as exc:
        if len(mine) > 1:
            log.info("event_batch_split", group=group, events=len(mine), error=repr(exc))
        for delivery in mine:
            try:
                (outcome,) = await apply_events(db=db, group=group, events=[delivery.event], handler=handler)
            except Exception as one:
                await nack_failed(
                    bus=bus, group=group, delivery=delivery, error=one, retry_base=retry_base, retry_max=retry_max
                )
                continue
            done.append((delivery, outcome))
    if done:
        await bus.ack(deliveries=[d for d, _ in done])
    return done


def _now() -> datetime:
    return datetime.now(UTC)


__all__ = ["BatchHandler", "apply_events", "consume_events", "each_event"]
