"""Stock: how fast availability reaches each channel and what reconciliation found, as the
inventory service reports it on ``/metrics`` (counted since it started), and a reconciliation on
demand through its API (the operator's token needs ``inventory:write``)."""

from __future__ import annotations

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


async def overview(*, http: httpx.AsyncClient, inventory_url: str, token: str) -> StockOverview:
    return read(await scrape_metrics(http, base_url=inventory_url, token=token))


async def reconcile(*, inventory: InventoryAdmin, repair: bool) -> dict[str, object]:
    """What each channel was told against the WMS's stock now; with ``repair``, corrected."""
    return await inventory.reconcile(repair=repair)


__all__ = ["ChannelSync", "StockOverview", "overview", "read", "reconcile"]
