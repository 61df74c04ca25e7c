"""Run-once scheduled jobs: a job on a timer runs once per interval across every replica.

A service with N replicas runs each of its workers N times; a job on a schedule (inventory's
reconcile, the gateway's audit prune, orders' idempotency prune) must still run once per
interval, not N times. ``run_scheduled`` is that schedule::

    await run_scheduled("inventory_reconcile", reconcile_once, db=app.state.db, every=300.0,
                        stop_event=stop_event(app))

Time is cut into slots of ``every`` seconds (slot = ``floor(now / every)``, the wall clock, so
replicas on several hosts agree to within their clock skew). Each replica wakes at the start of
every slot and claims it (``SlotClaims.claim``): the first to insert the slot's row in the
service's own database runs the job, the others find the row and wait for the next slot. The row
is the claim and the record: ``processed_events`` (the kit table every service with an outbox
already has: the consumers' "done" record) with ``consumer_group = "schedule:<job>"`` and
``event_id = <slot>``, inserted with ``INSERT .. ON CONFLICT DO NOTHING`` in its own transaction,
which is exact on SQLite (one writer) and on PostgreSQL (a second insert of the same key waits for
the first to commit, then does nothing). So no replica runs a slot another one ran, a restarted
replica does not run again the slot it ran before its restart, and no new table or migration is
needed. A job that fails gives its slot back (the row is deleted), so the worker's retry or
another replica runs it in the same slot; old rows are deleted as new ones are claimed.

Why hand-written: the maintained pieces that come close are mutexes (redis-py's ``Lock``,
``pottery``'s ``Redlock``: "one at a time", not "once per interval", and a Redis the embedded
suite does not have) or whole schedulers with their own tables and polling loop (APScheduler 4's
data stores, still alpha). One insert per interval in the database the job already writes to is
the smallest thing that is exact on both databases, and costs the embedded suite nothing between
two intervals (no polling: the worker sleeps until the next slot).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from service_kit.db import Database
from service_kit.events.consumer import ProcessedEvent
from service_kit.workers import Wakeup, run_worker

log = structlog.get_logger("service_kit.leases")

Clock = Callable[[], float]

#: Claimed slots kept per job (older ones are deleted when a slot is claimed).
KEEP_SLOTS = 16


class SlotClaims:
    """The claims of one job's slots in ``db`` (``processed_events``, group ``schedule:<job>``)."""

    def __init__(self, db: Database, *, job: str, every: float, clock: Clock = time.time) -> None:
        if every <= 0:
            raise ValueError(f"every must be > 0, not {every!r}")
        self.db, self.job, self.every, self.clock = db, job, every, clock
        self.group = f"schedule:{job}"

    def slot(self) -> int:
        """The slot ``clock()`` is in."""
        return math.floor(self.clock() / self.every)

    def seconds_to_next_slot(self) -> float:
        """Seconds until just past the next slot's start (a millisecond past: a wake-up right on
        the boundary would find the slot it just ran)."""
        now = self.clock()
        return max(0.001, (math.floor(now / self.every) + 1) * self.every - now + 0.001)

    async def claim(self) -> int | None:
        """The current slot if this call claimed it; None when it was claimed already (by this
        replica or another one, before or after a restart)."""
        slot = self.slot()
        row = {
            "group": self.group,
            "event_id": str(slot),
            "event_type": "schedule",
            "outcome": "claimed",
            "processed_at": datetime.now(UTC),
        }
        insert = postgresql.insert if self.db.engine.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(ProcessedEvent).values(**row).on_conflict_do_nothing()
        async with self.db.transaction() as session:
            done = await session.execute(stmt)
            if not getattr(done, "rowcount", 0):
                return None
            # Event ids are strings: older slots are found by their claim time, not their number.
            kept = datetime.now(UTC) - timedelta(seconds=self.every * KEEP_SLOTS)
            await session.execute(
                delete(ProcessedEvent).where(ProcessedEvent.group == self.group, ProcessedEvent.processed_at < kept)
            )
        return slot

    async def give_back(self, slot: int) -> None:
        """Undo a claim whose job failed, so that it may run again in the same slot."""
        async with self.db.transaction() as session:
            await session.execute(
                delete(ProcessedEvent).where(ProcessedEvent.group == self.group, ProcessedEvent.event_id == str(slot))
            )


async def run_scheduled(
    name: str,
    job: Callable[[], Awaitable[object]],
    *,
    db: Database,
    every: float,
    stop_event: asyncio.Event,
    at_start: bool = True,
    error_backoff: tuple[float, float] | None = None,
    clock: Clock = time.time,
) -> None:
    """Run ``job`` once per slot of ``every`` seconds across the replicas sharing ``db``, on the
    worker runtime (it stops between two passes). ``at_start``: claim the slot the service starts
    in (False: the first run is at the next slot). A failed job is logged (``worker_failed``),
    its slot given back, and retried after ``error_backoff`` (default: ``(min(every, 5), every)``)."""
    claims = SlotClaims(db, job=name, every=every, clock=clock)
    skip = None if at_start else claims.slot()

    async def tick() -> int:
        if skip is not None and claims.slot() == skip:
            return 0
        slot = await claims.claim()
        if slot is None:
            return 0
        try:
            await job()
        except BaseException:
            await asyncio.shield(claims.give_back(slot))
            raise
        return 0

    await run_worker(
        name,
        tick,
        wakeup=Wakeup(),
        stop_event=stop_event,
        idle_backoff=(every, every),
        error_backoff=error_backoff or (min(every, 5.0), every),
        next_pass=claims.seconds_to_next_slot,
    )


__all__ = ["SlotClaims", "run_scheduled"]
