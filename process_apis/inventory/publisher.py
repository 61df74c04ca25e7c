"""Publication of ``com.interchange.availability.changed.v1``: coalesced per SKU and channel,
throttled per channel, through this service's outbox.

Coalescing happens in the projection (a change marks the row due ``coalesce_window`` later; later
changes only replace the value and bump the row's ``version``). A pass here reads the due rows,
oldest first, and sends each channel whose throttle admits it one *update*: every due row of
that channel in the pass (a batch availability update, as channels' bulk APIs take them: Amazon's
inventory feeds, eBay's bulkUpdatePriceQuantity, Shopify's inventorySetQuantities), one
``availability.changed.v1`` per SKU, so the event contract is unchanged. The throttle counts
updates, not SKUs: with per-SKU throttling a channel told of 40 SKUs at 5 updates/s lagged 8 s
behind, however fast the rest of the pipeline was. The whole pass is recorded (event in the
outbox, the row's ``told``, a ``Publication`` history row) in one transaction, as a
compare-and-set on the version read: a row the consumer changed in between is left due and goes
out with its newer value. A channel the throttle holds back stays due too, so it goes out with
whatever value is latest when the channel has room again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import AvailabilityChangedV1, CloudEvent
from process_apis.inventory import history as stock_history
from process_apis.inventory import repository
from process_apis.inventory.history import Lag
from process_apis.inventory.metrics import InventoryMetrics
from process_apis.inventory.models import Publication
from process_apis.inventory.settings import ChannelRule
from service_kit.db import Database
from service_kit.events import event_data, new_event
from service_kit.events.outbox import add_events

SOURCE = "urn:interchange:process:inventory"


class ChannelThrottle:
    """A token bucket per channel: ``rate`` updates per second (an update: one batch of SKUs),
    bursts up to one second's worth.

    Hand-written: it is a few lines, needs an injectable clock (tests drive it without sleeping),
    and must *refuse* rather than wait, because a refused row stays due and coalesces further."""

    def __init__(self, rules: Mapping[str, ChannelRule]) -> None:
        self.rates = {channel: rule.max_updates_per_second for channel, rule in rules.items()}
        self._tokens: dict[str, float] = {}
        self._at: dict[str, float] = {}

    def _level(self, channel: str, rate: float, now: float) -> float:
        burst = max(1.0, rate)
        return min(burst, self._tokens.get(channel, burst) + (now - self._at.get(channel, now)) * rate)

    def admit(self, channel: str, *, now: float) -> bool:
        rate = self.rates.get(channel, 0.0)
        if rate <= 0:
            return True
        tokens = self._level(channel, rate, now)
        self._at[channel] = now
        if tokens < 1.0:
            self._tokens[channel] = tokens
            return False
        self._tokens[channel] = tokens - 1.0
        return True

    def held(self, *, now: float) -> list[str]:
        """The channels that may not publish now (no whole token), without taking any."""
        return [c for c, rate in self.rates.items() if rate > 0 and self._level(c, rate, now) < 1.0]

    def wait(self, *, now: float) -> float:
        """Seconds until every held channel has a token again (0 when none is held)."""
        held = self.held(now=now)
        return max(((1.0 - self._level(c, self.rates[c], now)) / self.rates[c] for c in held), default=0.0)

    async def held_channels(self, *, now: float) -> list[str]:
        return self.held(now=now)

    async def admit_channels(self, channels: Iterable[str], *, now: float) -> set[str]:
        return {channel for channel in channels if self.admit(channel, now=now)}


class Throttle(Protocol):
    """What a publisher pass needs of a throttle: this process's ``ChannelThrottle``, or the one
    the replicas share through Redis (``throttle.SharedChannelThrottle``)."""

    async def held_channels(self, *, now: float) -> list[str]: ...

    async def admit_channels(self, channels: Iterable[str], *, now: float) -> set[str]: ...

    def wait(self, *, now: float) -> float: ...


def _event(*, due: repository.DueRow, seq: int, now: datetime) -> CloudEvent:
    data = AvailabilityChangedV1(
        sku=due.sku,
        channel=due.channel,
        available=str(due.desired),
        previous=None if due.told is None else str(due.told),
        as_of=None if due.as_of is None else _aware(due.as_of),
    )
    return new_event(
        data=data, source=SOURCE, subject=f"availability/{due.channel}/{due.sku}", entity_version=seq, time=now
    )


async def _record(*, session: AsyncSession, admitted: Sequence[repository.DueRow], now: datetime) -> list[CloudEvent]:
    """Record the publications of the rows that are still what was read: the rows marked told
    (compare-and-set on their version), the events in the outbox and history rows, all in the
    caller's transaction. The events recorded; a row that changed meanwhile stays due."""
    marked = await repository.mark_told(session=session, rows=admitted, now=now)
    events: list[CloudEvent] = []
    history: list[dict[str, Any]] = []
    lags: list[Lag] = []  # movement -> told, per publication: the stock page's chart
    for due in admitted:
        seq = marked.get((due.channel, due.sku))
        if seq is None:
            continue
        event = _event(due=due, seq=seq, now=now)
        events.append(event)
        if due.as_of is not None:
            lags.append(Lag(due.channel, (now - _aware(due.as_of)).total_seconds()))
        history.append(
            {
                "channel": due.channel,
                "sku": due.sku,
                "available": due.desired,
                "previous": due.told,
                "event_id": event.id,
                "published_at": now,
            }
        )
    await add_events(session=session, events=events)
    await repository.write(session=session, model=Publication, inserts=history)
    await stock_history.add_sync(session=session, lags=lags, now=now)
    return events


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def publish_due(
    *,
    db: Database,
    throttle: Throttle,
    metrics: InventoryMetrics | None = None,
    now: datetime | None = None,
    limit: int = 500,
) -> int:
    """One pass; returns how many events were published.

    The due rows are read first (no write lock), then recorded in one transaction, each only if
    its version is unchanged: a consumer that changes a row in between (a newer figure) is never
    overwritten by the older one; the row stays due and the next pass publishes the newer figure.
    """
    now = now or datetime.now(UTC)
    held = await throttle.held_channels(now=now.timestamp())  # their rows stay due: not even read
    async with db.transaction() as session:
        due = await repository.due_states(session=session, now=now, limit=limit, skip_channels=held)
    settled = [row for row in due if row.desired == row.told]  # changed and changed back within the window
    changed = [row for row in due if row.desired != row.told]
    # One update per channel carries all of its due rows: one token each, taken once per pass.
    updated = await throttle.admit_channels(dict.fromkeys(row.channel for row in changed), now=now.timestamp())
    admitted = [row for row in changed if row.channel in updated]
    if not settled and not admitted:
        return 0
    async with db.transaction() as session:
        await repository.clear_due(session=session, rows=settled)
        published = await _record(session=session, admitted=admitted, now=now) if admitted else []
    if metrics is not None:  # after the commit: only what really went out
        for event in published:
            data = event_data(event=event, model=AvailabilityChangedV1)
            metrics.published.labels(data.channel).inc()
            if data.as_of is not None:
                metrics.sync_lag.labels(data.channel).observe(max(0.0, (now - data.as_of).total_seconds()))
    return len(published)


__all__ = ["SOURCE", "ChannelThrottle", "Throttle", "publish_due"]
