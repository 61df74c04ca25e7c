"""Idempotent, ordered consumers: at-least-once delivery, exactly-once effect.

``apply_event`` runs a handler in a transaction of the consumer's own database and, in that same
transaction, records the event id in ``processed_events`` (key: consumer group + event id). A
redelivered event finds its id there and does nothing; a crash before the commit leaves no trace,
so the redelivery applies it.

Ordering: when an event names a ``subject`` and carries an ``entityversion``, the last version
applied per (group, subject) is kept in ``event_subject_versions``; an event whose version is not
newer is recorded and skipped (``Outcome.stale``), so a late redelivery cannot overwrite a newer
state. Handlers should therefore apply state ("on hand is now 12"), not deltas, for versioned
subjects.

``consume_batch`` (one receive) and ``run_consumer`` (forever) put it together with a bus:
the bus hands out only the handlers' types (a redelivery of another type is acked untouched),
a failing handler is nacked with exponential backoff, and the bus parks it as a dead letter
after its ``max_deliveries``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

import structlog
from sqlalchemy import DateTime, Integer, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from contracts.events import CloudEvent
from service_kit.db import Database, KitBase
from service_kit.events.port import Delivery, EventBus
from service_kit.workers import Wakeup, run_worker

log = structlog.get_logger("service_kit.events.consumer")


class ProcessedEvent(KitBase):
    __tablename__ = "processed_events"

    group: Mapped[str] = mapped_column("consumer_group", String(200), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class SubjectVersion(KitBase):
    __tablename__ = "event_subject_versions"

    group: Mapped[str] = mapped_column("consumer_group", String(200), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(128))
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EventHandler(Protocol):
    """Applies one event using ``session`` (the consumer's transaction); raises to refuse it."""

    async def __call__(self, *, session: AsyncSession, event: CloudEvent) -> None: ...


class Outcome(StrEnum):
    applied = "applied"  # the handler ran and committed
    duplicate = "duplicate"  # this group had already processed this event id
    stale = "stale"  # an equal or newer entityversion of the subject was already applied
    ignored = "ignored"  # no handler for this type


class _AlreadyProcessed(Exception):
    pass


async def apply_event(*, db: Database, group: str, event: CloudEvent, handler: EventHandler) -> Outcome:
    """Run ``handler`` once per (group, event id), in one transaction with the record of it."""
    try:
        async with db.transaction() as session:
            # The insert comes first: on SQLite it takes the write lock, so the version check
            # below and the handler run serialized with any other member of the group.
            record = ProcessedEvent(
                group=group, event_id=event.id, event_type=event.type, outcome=Outcome.applied, processed_at=_now()
            )
            session.add(record)
            try:
                await session.flush()
            except IntegrityError as exc:
                raise _AlreadyProcessed from exc
            if not await _claim_version(session=session, group=group, event=event):
                record.outcome = Outcome.stale
                return Outcome.stale
            await handler(session=session, event=event)
    except _AlreadyProcessed:
        return Outcome.duplicate
    return Outcome.applied


async def _claim_version(*, session: AsyncSession, group: str, event: CloudEvent) -> bool:
    """True when the event is newer than the subject's last applied version (and records it)."""
    if event.subject is None or event.entityversion is None:
        return True
    key = (SubjectVersion.group == group, SubjectVersion.subject == event.subject)
    current = await session.scalar(select(SubjectVersion.version).where(*key))
    if current is None:
        session.add(
            SubjectVersion(
                group=group, subject=event.subject, version=event.entityversion, event_id=event.id, applied_at=_now()
            )
        )
        await session.flush()  # a concurrent first version (PostgreSQL) fails here and is retried
        return True
    if event.entityversion <= current:
        return False
    # Conditional, so two members racing on one subject (PostgreSQL) cannot both win.
    result = await session.execute(
        update(SubjectVersion)
        .where(*key, SubjectVersion.version < event.entityversion)
        .values(version=event.entityversion, event_id=event.id, applied_at=_now())
    )
    return bool(getattr(result, "rowcount", 0))


async def consume_batch(
    *,
    bus: EventBus,
    db: Database,
    group: str,
    consumer: str,
    handlers: Mapping[str, EventHandler],
    max_messages: int = 10,
    wait_seconds: float = 1.0,
    retry_base: float = 1.0,
    retry_max: float = 300.0,
) -> list[tuple[Delivery, Outcome]]:
    """Receive once (only the types of ``handlers``: the bus passes over the others), apply each
    delivery in order, ack what is done, nack what failed."""
    deliveries = await bus.receive(
        group=group, consumer=consumer, max_messages=max_messages, wait_seconds=wait_seconds, types=handlers.keys()
    )
    done: list[tuple[Delivery, Outcome]] = []
    for delivery in deliveries:
        handler = handlers.get(delivery.event.type)
        if handler is None:
            done.append((delivery, Outcome.ignored))
            continue
        try:
            outcome = await apply_event(db=db, group=group, event=delivery.event, handler=handler)
        except Exception as exc:
            await nack_failed(
                bus=bus, group=group, delivery=delivery, error=exc, retry_base=retry_base, retry_max=retry_max
            )
            continue
        done.append((delivery, outcome))
    await bus.ack(deliveries=[d for d, _ in done])
    return done


async def nack_failed(
    *, bus: EventBus, group: str, delivery: Delivery, error: Exception, retry_base: float, retry_max: float
) -> None:
    """Log a delivery whose handler failed and nack it with exponential backoff (capped)."""
    log.warning(
        "event_handler_failed",
        group=group,
        event_id=delivery.event.id,
        event_type=delivery.event.type,
        attempt=delivery.attempt,
        error=repr(error),
        correlation_id=delivery.event.correlationid,
    )
    retry_after = min(retry_max, retry_base * 2 ** (delivery.attempt - 1))
    await bus.nack(delivery=delivery, error=f"{type(error).__name__}: {error}", retry_after=retry_after)


async def run_consumer(
    *,
    bus: EventBus,
    db: Database,
    group: str,
    consumer: str,
    handlers: Mapping[str, EventHandler],
    max_messages: int = 10,
    wait_seconds: float = 1.0,
    retry_base: float = 1.0,
    max_backoff: float = 30.0,
    idle_backoff: tuple[float, float] = (0.25, 5.0),
    stop_event: asyncio.Event | None = None,
) -> None:
    """Consume until ``stop_event`` is set (or cancelled), on the worker runtime. A bus or
    database outage pauses with capped backoff; the leases of what was in hand run out and the
    messages come back.

    Waiting for events: a bus with a ``change_probe()`` (the SQLite log: ``PRAGMA data_version``)
    wakes the worker when any process appends, and an idle pass looks again after
    ``idle_backoff`` (redeliveries that fall due); a bus without one (Redis) waits inside
    ``receive`` for up to ``wait_seconds`` (``XREADGROUP BLOCK``).
    """

    async def consume_once(block: float) -> int:
        done = await consume_batch(
            bus=bus,
            db=db,
            group=group,
            consumer=consumer,
            handlers=handlers,
            max_messages=max_messages,
            wait_seconds=block,
            retry_base=retry_base,
        )
        return len(done)

    await run_on_bus(
        f"event_consumer:{group}",
        bus=bus,
        consume_once=consume_once,
        stop_event=stop_event or asyncio.Event(),
        wait_seconds=wait_seconds,
        idle_backoff=idle_backoff,
        max_backoff=max_backoff,
    )


async def run_on_bus(
    name: str,
    *,
    bus: EventBus,
    consume_once: Callable[[float], Awaitable[int]],
    stop_event: asyncio.Event,
    wait_seconds: float = 1.0,
    idle_backoff: tuple[float, float] = (0.25, 5.0),
    max_backoff: float = 30.0,
    linger: tuple[int, float] | None = None,
) -> None:
    """Run ``consume_once(block)`` (one receive with ``wait_seconds=block``; how many it handled)
    on the worker runtime until ``stop_event``: woken by the bus's ``change_probe()`` when it has
    one (``block`` is then 0), else blocking in ``receive`` for ``wait_seconds``. For consumers
    that receive themselves (``batch.consume_events``) as ``run_consumer`` does.

    ``linger=(batch, seconds)``: after a pass that handled some events but fewer than ``batch``,
    wait ``seconds`` (cut short by the stop event) before the next one, so that a trickle is
    applied a few events per transaction instead of one each; a full batch goes on at once."""
    make_probe = getattr(bus, "change_probe", None)
    probe = make_probe() if callable(make_probe) else None
    block = 0.0 if probe is not None else wait_seconds

    async def unit() -> int:
        handled = await consume_once(block)
        if linger is not None and 0 < handled < linger[0] and linger[1] > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), timeout=linger[1])
        return handled

    wakeup = Wakeup(probe=probe)
    try:
        await run_worker(
            name,
            unit,
            wakeup=wakeup,
            stop_event=stop_event,
            # Without a probe the unit itself waited (blocking receive): look again at once.
            idle_backoff=(0.001, 0.001) if probe is None and block > 0 else idle_backoff,
            error_backoff=(0.1, max_backoff),
        )
    finally:
        wakeup.close()


def _now() -> datetime:
    return datetime.now(UTC)


__all__ = [
    "EventHandler",
    "Outcome",
    "ProcessedEvent",
    "SubjectVersion",
    "apply_event",
    "consume_batch",
    "nack_failed",
    "run_consumer",
    "run_on_bus",
]
