"""Stock: how fast availability reaches each channel and what reconciliation found, as the
inventory service reports it on ``/metrics`` (counted since it started) and over time from the
history it keeps (per channel and minute, and per reconciliation: ``inventory:read``), and a
reconciliation on demand through its API (the operator's token needs ``inventory:write``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel

from experience_apis.ops.clients import InventoryAdmin, scrape_metrics

LAG = "interchange_inventory_sync_lag_seconds"
DRIFT_FOUND = "interchange_inventory_drift_found_total"
DRIFT_OPEN = "interchange_inventory_drift_open"
#: The lag a channel should see at most; the share of updates within it is shown per channel.
WITHIN_SECONDS = "1.0"


class ChannelSync(BaseModel):
    channel: str
    updates: int = 0
    mean_lag_seconds: float | None = None
    within_1s: float | None = None  # share of updates that reached the channel within a second
    drift_found: int = 0


class StockOverview(BaseModel):
    reachable: bool
    channels: list[ChannelSync]
    drift_open: int | None = None


def read(text: str | None) -> StockOverview:
    if text is None:
        return StockOverview(reachable=False, channels=[])
    sums: dict[str, float] = {}
    within: dict[str, float] = {}
    channels: dict[str, ChannelSync] = {}
    drift_open = None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            channel = sample.labels.get("channel")
            row = channels.setdefault(channel, ChannelSync(channel=channel)) if channel else None
            if row is not None and sample.name == f"{LAG}_count":
                row.updates = int(sample.value)
            elif channel and sample.name == f"{LAG}_sum":
                sums[channel] = sample.value
            elif channel and sample.name == f"{LAG}_bucket" and sample.labels.get("le") == WITHIN_SECONDS:
                within[channel] = sample.value
            elif row is not None and sample.name == DRIFT_FOUND:
                row.drift_found = int(sample.value)
            elif sample.name == DRIFT_OPEN:
                drift_open = int(sample.value)
    for channel, row in channels.items():
        if row.updates:
            row.mean_lag_seconds = sums.get(channel, 0.0) / row.updates
            row.within_1s = within.get(channel, 0.0) / row.updates
    return StockOverview(
        reachable=True, channels=sorted(channels.values(), key=lambda c: c.channel), drift_open=drift_open
    )


class ChannelLag(BaseModel):
    """One channel's lag per minute: what stock.js draws (times in epoch seconds)."""

    channel: str
    minutes: list[int]
    updates: list[int]
    mean_lag_ms: list[float]
    max_lag_ms: list[float]
    on_time_pct: list[float]


class DriftRuns(BaseModel):
    """What each reconciliation found per channel, aligned on the reconciliations' times."""

    times: list[float]  # epoch seconds, to the millisecond: two runs in one second stay two
    channels: list[str]
    drift: list[list[int | None]]  # per channel, one value per time (None: not checked then)

    def latest(self, count: int = 10) -> list[tuple[float, list[int | None]]]:
        """The last ``count`` reconciliations, newest first: time and the drift per channel."""
        rows = [(t, [per_channel[i] for per_channel in self.drift]) for i, t in enumerate(self.times)]
        return rows[::-1][:count]


class StockHistory(BaseModel):
    hours: int
    since: int
    until: int
    lag: list[ChannelLag]
    drift: DriftRuns

    def chart_data(self) -> dict[str, object]:
        return self.model_dump(mode="json")


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def _instant(text: str) -> float:
    return round(datetime.fromisoformat(text).timestamp(), 3)


def history_of(*, sync: dict[str, Any], runs: dict[str, Any], hours: int, now: datetime) -> StockHistory:
    lag = [
        ChannelLag(
            channel=c["channel"],
            minutes=[_epoch(m["minute"]) for m in c["minutes"]],
            updates=[m["updates"] for m in c["minutes"]],
            mean_lag_ms=[round(m["mean_lag_seconds"] * 1000, 1) for m in c["minutes"]],
            max_lag_ms=[round(m["max_lag_seconds"] * 1000, 1) for m in c["minutes"]],
            on_time_pct=[round(m["on_time_share"] * 100, 1) for m in c["minutes"]],
        )
        for c in sync["channels"]
    ]
    found: dict[tuple[float, str], int] = {(_instant(r["checked_at"]), r["channel"]): r["drift"] for r in runs["runs"]}
    times = sorted({t for t, _ in found})
    channels = sorted({c for _, c in found})
    return StockHistory(
        hours=hours,
        since=int((now - timedelta(hours=hours)).timestamp()),
        until=int(now.timestamp()),
        lag=lag,
        drift=DriftRuns(times=times, channels=channels, drift=[[found.get((t, c)) for t in times] for c in channels]),
    )


async def history(*, inventory: InventoryAdmin, hours: int) -> StockHistory:
    """The last ``hours`` of sync lag per channel and minute, and of reconciliations."""
    sync = await inventory.sync_history(hours=hours)
    runs = await inventory.reconcile_history(hours=hours)
    return history_of(sync=sync, runs=runs, hours=hours, now=datetime.now(UTC))


async def overview(*, http: httpx.AsyncClient, inventory_url: str, token: str) -> StockOverview:
    return read(await scrape_metrics(http, base_url=inventory_url, token=token))


async def reconcile(*, inventory: InventoryAdmin, repair: bool) -> dict[str, object]:
    """What each channel was told against the WMS's stock now; with ``repair``, corrected."""
    return await inventory.reconcile(repair=repair)


__all__ = ["ChannelSync", "StockHistory", "StockOverview", "history", "history_of", "overview", "read", "reconcile"]
