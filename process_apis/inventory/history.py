"""What the ops console's stock page charts over time: how fast availability reached each channel,
per minute (every publisher pass that published adds to its minute's row, in the pass's own
transaction), and what each reconciliation found per channel (scheduled or asked for). Rows older
than ``history_days`` are pruned by the scheduled reconciliation. Takes the caller's session, never
commits, like ``repository``.

Kept here and not only in Prometheus: the console must show history on a laptop suite that has no
Prometheus, and a scaled suite's replicas write to one database, so the figures are the suite's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Table, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from process_apis.inventory.models import ReconcileRun, SyncMinute

#: An update within this many seconds counts as on time (the ``within_1s`` column and share).
ON_TIME_SECONDS = 1.0

_MINUTES: Table = SyncMinute.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Lag:
    channel: str
    seconds: float


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@dataclass
class _Minute:
    updates: int = 0
    lag_sum: float = 0.0
    lag_max: float = 0.0
    within_1s: int = 0


def per_channel(*, lags: Iterable[Lag], minute: datetime) -> list[dict[str, object]]:
    """One row per channel for ``minute``: how many updates, their summed and largest lag, how
    many were on time."""
    totals: dict[str, _Minute] = {}
    for lag in lags:
        seconds = max(0.0, lag.seconds)
        total = totals.setdefault(lag.channel, _Minute())
        total.updates += 1
        total.lag_sum += seconds
        total.lag_max = max(total.lag_max, seconds)
        total.within_1s += seconds <= ON_TIME_SECONDS
    return [{"channel": channel, "minute": minute, **asdict(total)} for channel, total in totals.items()]


async def add_sync(*, session: AsyncSession, lags: Sequence[Lag], now: datetime) -> None:
    """Add one pass's publications to their channels' rows for the current minute: an upsert per
    channel (a pass publishes on a few channels), safe against two replicas' passes in one minute."""
    rows = per_channel(lags=lags, minute=minute_of(now))
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(_MINUTES)
    c, new = _MINUTES.c, stmt.excluded
    upsert = stmt.on_conflict_do_update(
        index_elements=[c.channel, c.minute],
        set_={
            "updates": c.updates + new.updates,
            "lag_sum": c.lag_sum + new.lag_sum,
            "lag_max": case((c.lag_max > new.lag_max, c.lag_max), else_=new.lag_max),
            "within_1s": c.within_1s + new.within_1s,
        },
    )
    await session.execute(upsert, rows)


async def add_reconciliation(
    *, session: AsyncSession, checked_at: datetime, channels: Iterable[str], drifting: Mapping[str, int], repaired: bool
) -> None:
    """One row per configured channel, drift 0 included: a chart shows that a check ran and found nothing."""
    rows = [
        {"checked_at": checked_at, "channel": channel, "drift": drifting.get(channel, 0), "repaired": repaired}
        for channel in channels
    ]
    if rows:
        session.add_all(ReconcileRun(**row) for row in rows)


async def sync_minutes(*, session: AsyncSession, since: datetime, channel: str | None = None) -> list[SyncMinute]:
    stmt = select(SyncMinute).where(SyncMinute.minute >= since)
    if channel is not None:
        stmt = stmt.where(SyncMinute.channel == channel)
    return list((await session.execute(stmt.order_by(SyncMinute.channel, SyncMinute.minute))).scalars())


async def reconciliations(*, session: AsyncSession, since: datetime, limit: int) -> list[ReconcileRun]:
    """The newest ``limit`` rows since ``since``, oldest first."""
    stmt = select(ReconcileRun).where(ReconcileRun.checked_at >= since)
    newest = stmt.order_by(ReconcileRun.checked_at.desc(), ReconcileRun.id.desc()).limit(limit)
    return list((await session.execute(newest)).scalars())[::-1]


async def prune(*, session: AsyncSession, before: datetime) -> None:
    await session.execute(delete(SyncMinute).where(SyncMinute.minute < before))
    await session.execute(delete(ReconcileRun).where(ReconcileRun.checked_at < before))


__all__ = [
    "ON_TIME_SECONDS",
    "Lag",
    "add_reconciliation",
    "add_sync",
    "minute_of",
    "per_channel",
    "prune",
    "reconciliations",
    "sync_minutes",
]
