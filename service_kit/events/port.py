"""The event bus port: what producers and consumers rely on, whatever carries the events.

Semantics every adapter keeps (and ``tests/unit/service_kit/events`` checks for each):

- one ordered log of CloudEvents; ``publish`` appends, in the order given, durably;
- consumer groups: each group sees every event; the members of a group share the work, each
  message going to one member at a time;
- at-least-once: a message handed to a member is leased for ``lease_seconds``; not acked by
  then (the member died, hung or was too slow), it is handed to a member again;
- ``nack`` records a failure and makes the message available again after ``retry_after``;
- a message delivered ``max_deliveries`` times without an ack is parked as a dead letter with
  its last error and no longer blocks anything; ``replay`` hands a dead letter back to its
  group (only that group), and it starts again with a fresh delivery count;
- redelivery may reorder messages: consumers dedupe by event id and order by ``entityversion``
  (``service_kit.events.consumer``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from contracts.events import CloudEvent

Start = Literal["earliest", "latest"]


@dataclass(frozen=True)
class Delivery:
    """One message handed to one member of a group."""

    message_id: str  # the bus's id for the message (log offset, stream entry id)
    event: CloudEvent
    group: str
    consumer: str
    attempt: int  # 1 on the first delivery, +1 on every redelivery
    location: str = ""  # adapter-specific: where the message lives (e.g. main or replay stream)


@dataclass(frozen=True)
class DeadLetter:
    id: str  # the id to pass to ``replay``
    group: str
    message_id: str
    event: CloudEvent
    deliveries: int
    error: str
    dead_at: datetime


class EventBusError(Exception):
    """The bus could not do what was asked (connection lost, storage unavailable)."""


class UnknownDeadLetter(EventBusError, LookupError):
    """``replay`` was given an id that is not (or no longer) a dead letter."""


class Publisher(Protocol):
    """The one thing a producer (the outbox relay) needs from a bus."""

    async def publish(self, *, events: Sequence[CloudEvent]) -> list[str]: ...


@runtime_checkable
class EventBus(Protocol):
    lease_seconds: float
    max_deliveries: int

    async def publish(self, *, events: Sequence[CloudEvent]) -> list[str]:
        """Append ``events`` in order, durably; returns their message ids."""
        ...

    async def ensure_group(self, *, group: str, start: Start = "earliest") -> None:
        """Create ``group`` if it does not exist, reading from the oldest retained event or only
        from events published after now. ``receive`` creates a missing group from the earliest."""
        ...

    async def receive(
        self,
        *,
        group: str,
        consumer: str,
        max_messages: int = 10,
        wait_seconds: float = 0.0,
        types: Collection[str] | None = None,
    ) -> list[Delivery]:
        """Up to ``max_messages`` for this member: expired leases first (redeliveries), then new
        messages in log order. Waits up to ``wait_seconds`` when there is nothing.

        ``types``: the event types the group takes (None: every type). Messages of other types are
        never handed out: the group passes over them as if acked, without decoding them (a
        consumer of one type does not pay for every other event on a shared log). A message handed
        out before may still come back whatever its type (a redelivery): consumers ack those."""
        ...

    async def ack(self, *, deliveries: Sequence[Delivery]) -> None:
        """Done: never deliver these to their group again."""
        ...

    async def nack(self, *, delivery: Delivery, error: str, retry_after: float = 0.0) -> None:
        """Failed: deliver again after ``retry_after`` seconds, or park as a dead letter when it
        has had ``max_deliveries`` deliveries."""
        ...

    async def dead_letters(self, *, group: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """Parked messages, oldest first."""
        ...

    async def replay(self, *, dead_letter_id: str) -> DeadLetter:
        """Hand a dead letter back to its group; raises ``UnknownDeadLetter``."""
        ...

    async def pending(self, *, group: str) -> int:
        """How many messages the group's members hold (or failed) and have not acked yet."""
        ...

    async def close(self) -> None: ...


__all__ = ["DeadLetter", "Delivery", "EventBus", "EventBusError", "Publisher", "Start", "UnknownDeadLetter"]
