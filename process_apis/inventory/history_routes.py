"""HTTP only: the stock history the ops console charts (``history``), for internal apps with
``inventory:read``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Query

from process_apis.inventory import history
from process_apis.inventory.routes import InventoryRead
from process_apis.inventory.schemas import (
    ChannelSyncHistory,
    ReconcileHistory,
    ReconcileRunRead,
    SyncHistory,
    SyncMinuteRead,
)
from service_kit.db import SessionDep

router = APIRouter(prefix="/v1/admin", tags=["inventory history"])

Hours = Annotated[int, Query(ge=1, le=24 * 31, description="How many hours back, up to the history kept")]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get("/sync-history", operation_id="getSyncHistory")
async def sync_history(
    session: SessionDep,
    _: InventoryRead,
    hours: Hours = 6,
    channel: Annotated[str | None, Query(min_length=1, max_length=32, description="One channel only")] = None,
) -> SyncHistory:
    """Per channel and minute: updates told, mean and largest lag from the stock movement to the
    event telling the channel, and the share told within a second. Minutes with no update are absent."""
    since = history.minute_of(datetime.now(UTC) - timedelta(hours=hours))
    rows = await history.sync_minutes(session=session, since=since, channel=channel)
    return SyncHistory(
        since=since,
        channels=[
            ChannelSyncHistory(
                channel=name,
                minutes=[
                    SyncMinuteRead(
                        minute=_aware(row.minute),
                        updates=row.updates,
                        mean_lag_seconds=row.lag_sum / row.updates,
                        max_lag_seconds=row.lag_max,
                        on_time_share=row.within_1s / row.updates,
                    )
                    for row in minutes
                ],
            )
            for name, minutes in groupby(rows, key=lambda row: row.channel)
        ],
    )


@router.get("/reconcile-history", operation_id="getReconcileHistory")
async def reconcile_history(
    session: SessionDep,
    _: InventoryRead,
    hours: Hours = 24,
    limit: Annotated[int, Query(ge=1, le=5000, description="At most this many rows, the newest")] = 1000,
) -> ReconcileHistory:
    """What every reconciliation (scheduled or asked for) found drifting, one row per channel,
    oldest first: the newest `limit` rows of the last `hours`."""
    since = datetime.now(UTC) - timedelta(hours=hours)
    runs = await history.reconciliations(session=session, since=since, limit=limit)
    return ReconcileHistory(
        since=since,
        runs=[
            ReconcileRunRead(checked_at=_aware(r.checked_at), channel=r.channel, drift=r.drift, repaired=r.repaired)
            for r in runs
        ],
    )


__all__ = ["router"]
