"""Inventory levels to the storefront: consume, coalesce per SKU, push within its rate limit.

``availability.changed`` of the storefront channel is consumed once each (group ``storefront``)
into one push row per SKU holding the latest level. The pusher sends due rows one by one through
the paced client; a row that changed while its push was in flight stays pending, so the newer
level goes next (only the latest level is ever sent, never a backlog). A failed push is retried
on the schedule, then parked as dead; a 429 waited out beyond the client's budget comes back after
its Retry-After without counting as a failure. Nothing is dropped: an unmapped SKU is dead at
once, visible in ``/v1/sync-status``, and replayable; while it stays unmapped its row only keeps
the latest level (never queued and failed again per level), and its next level after a mapping
appears is pushed. A consumer batch records each SKU's newest level of the batch, in one write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import AvailabilityChangedV1, CloudEvent
from experience_apis.storefront.client import StorefrontAdmin
from experience_apis.storefront.models import PushReplayRecord, PushStatus
from experience_apis.storefront.repository import StorefrontRepository, unmapped_error
from experience_apis.storefront.schemas import DeadPush, PushReplay, SyncStatus
from service_kit.db import Database
from service_kit.errors import Conflict, InterchangeError, NotFound
from service_kit.events import event_data
from service_kit.events.batch import BatchHandler
from service_kit.http import UpstreamThrottled
from service_kit.workers import notify_after_commit, run_worker, wakeup_for

log = structlog.get_logger("experience_apis.storefront")
PUSHES = "storefront_pushes"  # the pusher's wake-up (service_kit.workers)


def _now() -> datetime:
    return datetime.now(UTC)


def _level(*, event: CloudEvent, channel: str) -> tuple[str, int] | None:
    """The (SKU, whole units) an event sets for ``channel``, or None for another channel's."""
    data = event_data(event=event, model=AvailabilityChangedV1)
    if data.channel != channel:
        return None
    return data.sku, int(Decimal(data.available).to_integral_value(rounding=ROUND_FLOOR))


def availability_batch_handler(*, channel: str) -> BatchHandler:
    """A consumer batch (oldest first) as one write: only each SKU's newest level is recorded
    (the pusher sends only the latest anyway), with one mapping read and one push-row read."""

    async def want_levels(*, session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        levels: dict[str, int] = {}
        for event in events:
            level = _level(event=event, channel=channel)
            if level is not None:
                levels[level[0]] = level[1]  # a later event of the batch is the newer level
        if await StorefrontRepository(session).want_levels(levels=levels, now=_now()):
            notify_after_commit(session=session, topic=PUSHES)  # wakes the pusher

    return want_levels


async def push_due(*, db: Database, admin: StorefrontAdmin, schedule: Sequence[float], batch: int = 50) -> int:
    """One pass: push every due SKU once (paced by the client). Returns how many were tried."""
    async with db.transaction() as session:
        due = [(row.sku, row.version) for row in await StorefrontRepository(session).due(now=_now(), limit=batch)]
    for sku, _ in due:
        await _push_one(db=db, admin=admin, sku=sku, schedule=schedule)
    return len(due)


async def _push_one(*, db: Database, admin: StorefrontAdmin, sku: str, schedule: Sequence[float]) -> None:
    async with db.transaction() as session:
        repository = StorefrontRepository(session)
        row, item_id = await repository.push(sku), await repository.item_id(sku)
        if row is None or row.status != PushStatus.pending:
            return
        version, available = row.version, row.available
        if item_id is None:
            row.status, row.last_error = PushStatus.dead, unmapped_error(sku)
            log.warning("storefront_push_dead", sku=sku, error=row.last_error)
            return
    error: str | None = None
    wait: float | None = None
    try:
        await admin.set_inventory_level(inventory_item_id=item_id, available=available)
    except UpstreamThrottled as exc:
        wait, error = exc.retry_after, exc.detail
    except InterchangeError as exc:
        error = f"{type(exc).__name__}: {exc.detail}"
    async with db.transaction() as session:
        row = await StorefrontRepository(session).push(sku)
        if row is None:
            return
        now = _now()
        if error is None:
            row.pushed_at, row.last_error, row.attempts = now, None, 0
            if row.version == version:  # else a newer level arrived meanwhile: it goes next
                row.status = PushStatus.synced
            return
        row.last_error = error
        if wait is not None:
            row.next_attempt_at = now + timedelta(seconds=wait)
            return
        row.attempts += 1
        if row.attempts <= len(schedule):
            row.next_attempt_at = now + timedelta(seconds=schedule[row.attempts - 1])
        else:
            row.status = PushStatus.dead
            log.warning("storefront_push_dead", sku=sku, attempts=row.attempts, error=error)


async def run_pusher(
    *,
    db: Database,
    admin: StorefrontAdmin,
    schedule: Sequence[float],
    poll_seconds: float,
    max_idle_seconds: float,
    stop_event: asyncio.Event | None = None,
) -> None:
    """Push until ``stop_event`` is set, on the kit's worker runtime: woken by the commit of a new
    level or a replay; idle, it looks again after ``poll_seconds`` doubling up to
    ``max_idle_seconds`` (retries and Retry-After waits that fall due)."""

    async def push_once() -> int:
        return await push_due(db=db, admin=admin, schedule=schedule)

    await run_worker(
        "storefront_pusher",
        push_once,
        wakeup=wakeup_for(db=db, topic=PUSHES),
        stop_event=stop_event or asyncio.Event(),
        idle_backoff=(poll_seconds, max(poll_seconds, max_idle_seconds)),
    )


async def sync_status(*, session: AsyncSession, limit: int) -> SyncStatus:
    repository = StorefrontRepository(session)
    counts = await repository.counts()
    dead = [
        DeadPush(sku=r.sku, available=r.available, attempts=r.attempts, last_error=r.last_error, since=r.updated_at)
        for r in await repository.dead(limit=limit)
    ]
    return SyncStatus(**{s.value: counts.get(s.value, 0) for s in PushStatus}, dead_letters=dead)


async def replay_push(*, session: AsyncSession, sku: str, actor: str, reason: str | None) -> PushReplay:
    """Queues a dead push again; audited (who, when, why) in the same transaction."""
    repository = StorefrontRepository(session)
    row = await repository.push(sku)
    if row is None:
        raise NotFound(f"No inventory push for SKU {sku!r}.")
    if row.status != PushStatus.dead:
        raise Conflict(f"The push for SKU {sku!r} is {row.status}; only dead pushes are replayed.")
    now = _now()
    row.status, row.attempts, row.next_attempt_at = PushStatus.pending, 0, now
    repository.add_replay(PushReplayRecord(sku=sku, actor=actor, reason=reason, requested_at=now))
    await session.flush()
    notify_after_commit(session=session, topic=PUSHES)
    return PushReplay(sku=row.sku, available=row.available, replayed_by=actor, reason=reason, requested_at=now)
