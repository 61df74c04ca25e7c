from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field

from contracts import CanonicalModel, Quantity
from contracts.common import Sku


class ChannelAvailabilityRead(CanonicalModel):
    """What one channel may sell of one SKU now, and what it was last told."""

    sku: Sku
    channel: str
    available: Quantity
    told: Quantity | None = None
    told_at: datetime | None = None
    publication_pending: bool = False


class ChannelAvailabilityList(CanonicalModel):
    items: list[ChannelAvailabilityRead]


class ChannelRead(CanonicalModel):
    """A channel the inventory process tells, and its allocation rule."""

    channel: str
    #: Warehouses whose stock counts for the channel; null: every warehouse.
    warehouses: list[str] | None = None
    #: Share of the available stock offered, in percent, rounded down.
    share_percent: int
    #: Never more than this many units; null: no cap.
    cap: int | None = None
    #: Updates per second at most; 0: no limit.
    max_updates_per_second: float


class ChannelList(CanonicalModel):
    items: list[ChannelRead]


class RebuildResult(CanonicalModel):
    positions: int
    items: int
    skus: int


class ReconciliationCreate(CanonicalModel):
    """Compare what every channel was told with the true availability, from the WMS's stock now."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"repair": True}]})

    repair: Annotated[
        bool, Field(strict=True, description="Also correct the projection from the WMS and republish what drifted")
    ] = False


class Drift(CanonicalModel):
    sku: Sku
    channel: str
    told: int
    true: int
    since: Annotated[datetime | None, Field(description="When the channel was told the drifting value")] = None
    publication_pending: bool = False


class ReconciliationReport(CanonicalModel):
    checked_at: datetime
    skus: int
    channels: int
    drift: list[Drift]
    positions_corrected: int = 0
    repaired: bool = False


class SyncMinuteRead(CanonicalModel):
    """How fast availability reached a channel in one minute (movement -> event telling it)."""

    minute: datetime
    updates: int
    mean_lag_seconds: float
    max_lag_seconds: float
    on_time_share: Annotated[float, Field(ge=0, le=1, description="Share of the updates told within a second")]


class ChannelSyncHistory(CanonicalModel):
    channel: str
    minutes: list[SyncMinuteRead]


class SyncHistory(CanonicalModel):
    since: datetime
    channels: list[ChannelSyncHistory]


class ReconcileRunRead(CanonicalModel):
    checked_at: datetime
    channel: str
    drift: Annotated[int, Field(ge=0, description="Values found drifting on this channel")]
    repaired: bool


class ReconcileHistory(CanonicalModel):
    since: datetime
    runs: list[ReconcileRunRead]
