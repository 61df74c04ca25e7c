"""The inventory service's own knobs, on top of what every service has.

Environment: ``INTERCHANGE_INVENTORY_<NAME>``; ``CHANNELS`` is JSON, e.g.
``INTERCHANGE_INVENTORY_CHANNELS='{"marketplace": {"warehouses": ["AMS"], "share_percent": 50}}'``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from service_kit.settings import ServiceSettings


class ChannelRule(BaseModel):
    """How much of the stock one channel may sell, and how often it is told."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Warehouses whose stock counts for the channel; None: every warehouse.
    warehouses: tuple[str, ...] | None = None
    #: Share of the available stock offered, in percent, rounded down.
    share_percent: Annotated[int, Field(ge=0, le=100)] = 100
    #: Never offer more than this many units; None: no cap.
    cap: Annotated[int | None, Field(ge=0)] = None
    #: Updates per second at most for this channel, each telling it every SKU due (one
    #: availability.changed per SKU, published together); 0: no limit.
    max_updates_per_second: Annotated[float, Field(ge=0)] = 0.0


def default_channels() -> dict[str, ChannelRule]:
    return {
        "marketplace": ChannelRule(warehouses=("AMS", "RTM"), share_percent=80, cap=100, max_updates_per_second=5),
        "storefront": ChannelRule(warehouses=("AMS",), max_updates_per_second=20),
        "b2b": ChannelRule(max_updates_per_second=20),
    }


class InventorySettings(ServiceSettings):
    channels: dict[str, ChannelRule] = Field(default_factory=default_channels)
    #: Seconds a changed value waits before it is published; later changes of the same SKU and
    #: channel within that window replace it (latest value wins), so a burst is one update.
    coalesce_window: float = 0.25
    #: The shortest pause between two publisher passes while publications are pending (in their
    #: window or held back by a channel's throttle, until its next token) or keep falling due (a
    #: full pass goes on at once); when nothing is pending it sleeps until woken (a change in this
    #: process) or ``publish_idle`` seconds (changes made by another process: a second replica, the
    #: CLI).
    publish_interval: float = 0.2
    publish_idle: float = 5.0
    #: Consume stock.moved and item.changed, publish, seed and reconcile inside this process
    #: (tests turn them off and drive passes themselves).
    workers_enabled: bool = True
    #: Seed the projection from the WMS and ERP at start-up (retried until it succeeds).
    seed_on_start: bool = True
    #: Seconds between two scheduled reconciliations (0: none), and whether they repair drift.
    reconcile_interval: float = 300.0
    reconcile_repair: bool = True
    #: Days of sync-lag and reconcile history kept for the ops console's charts (pruned by the scheduled reconcile).
    history_days: float = Field(default=7.0, gt=0)
    #: Events per consumer batch (one transaction).
    consumer_batch: int = 500
    #: Seconds the consumer waits after a batch that was not full before it takes the next, so a
    #: trickle (an order saga's reservations) is applied a few movements per transaction rather
    #: than one each; 0: none. Adds at most this much to the lag; bursts (full batches) never wait.
    consumer_linger: float = 0.1
    #: Replicas of this service (scaled mode): while Redis, where they share each channel's
    #: throttle, is unreachable, each replica publishes its share, rate / replicas (throttle.py).
    throttle_replicas: int = Field(default=1, ge=1)


__all__ = ["ChannelRule", "InventorySettings", "default_channels"]
