"""Publication of ``com.interchange.availability.changed.v1``: coalesced per SKU and channel,
throttled per channel, through this service's outbox.

Coalescing happens in the projection (a change marks the row due ``coalesce_window`` later; later
changes only replace the value). A pass here takes the due rows, oldest first, and for each one
the channel's throttle admits, records the publication (event in the outbox, the row's ``told``,
a ``Publication`` history row) in one transaction for the whole batch. A row the throttle holds
back stays due, so it goes out with whatever value is latest when the channel has room again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import AvailabilityChangedV1
from process_apis.inventory import repository
from process_apis.inventory.metrics import InventoryMetrics
from process_apis.inventory.models import ChannelAvailability, Publication
from process_apis.inventory.settings import ChannelRule
from service_kit.db import Database
from service_kit.events import add_event, new_event

SOURCE = "urn:interchange:process:inventory"


class ChannelThrottle:
    """A token bucket per channel: ``rate`` updates per second, bursts up to one second's worth.

    Hand-written: it is a few lines, needs an injectable clock (tests drive it without sleeping),
    and must *refuse* rather than wait, because a refused row stays due and coalesces further."""

    def __init__(self, rules: Mapping[str, ChannelRule]) -> None:
        self.rates = {channel: rule.max_updates_per_second for channel, rule in rules.items()}
        self._tokens: dict[str, float] = {}
        self._at: dict[str, float] = {}

    def admit(self, channel: str, *, now: float) -> bool:
        rate = self.rates.get(channel, 0.0)
        if rate <= 0:
            return True
        burst = max(1.0, rate)
        tokens = min(burst, self._tokens.get(channel, burst) + (now - self._at.get(channel, now)) * rate)
        self._at[channel] = now
        if tokens < 1.0:
            self._tokens[channel] = tokens
            return False
        self._tokens[channel] = tokens - 1.0
        return True


async def _publish(
    *, session: AsyncSession, state: ChannelAvailability, now: datetime, metrics: InventoryMetrics | None
) -> None:
    data = AvailabilityChangedV1(
        sku=state.sku,
        channel=state.channel,
        available=str(state.desired),
        previous=None if state.told is None else str(state.told),
        as_of=state.as_of,
    )
    state.told_seq += 1
    event = new_event(
        data=data,
        source=SOURCE,
        subject=f"availability/{state.channel}/{state.sku}",
        entity_version=state.told_seq,
        time=now,
    )
    await add_event(session=session, event=event)
    repository.add(
        session=session,
        row=Publication(
            channel=state.channel,
            sku=state.sku,
            available=state.desired,
            previous=state.told,
            event_id=event.id,
            published_at=now,
        ),
    )
    state.told, state.told_at = state.desired, now
    if metrics is not None:
        metrics.published.labels(state.channel).inc()
        if state.as_of is not None:
            metrics.sync_lag.labels(state.channel).observe(max(0.0, (now - _aware(state.as_of)).total_seconds()))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def publish_due(
    *,
    db: Database,
    throttle: ChannelThrottle,
    metrics: InventoryMetrics | None = None,
    now: datetime | None = None,
    limit: int = 500,
) -> int:
    """One pass; returns how many events were published."""
    now = now or datetime.now(UTC)
    published = 0
    async with db.transaction() as session:
        for state in await repository.due_states(session=session, now=now, limit=limit):
            if state.desired == state.told:  # changed and changed back within the window
                state.due_at = None
                continue
            if not throttle.admit(state.channel, now=now.timestamp()):
                continue
            await _publish(session=session, state=state, now=now, metrics=metrics)
            state.due_at = None
            published += 1
    return published


__all__ = ["SOURCE", "ChannelThrottle", "publish_due"]
