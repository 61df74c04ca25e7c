"""The scaled event bus: Redis Streams with consumer groups (redis-py's asyncio client).

Keys, under one stream name (``interchange:events`` unless the URL says ``?stream=``):

- ``<stream>``: the log; ``publish`` is XADD in a MULTI, so a batch is all or nothing;
- ``<stream>:replay:<group>``: dead letters handed back to one group (read with the main
  stream in the same XREADGROUP, so a replay reaches that group only);
- ``<stream>:dead``: the dead letters of every group (event, group, deliveries, last error);
- ``<stream>:errors:<group>``: the last error of each failing message, until acked or parked.

Leases are the pending entries list: XREADGROUP hands a message to one member; XAUTOCLAIM
(min idle = the lease) hands a message whose member died or hung to another, bumping its delivery
count; XPENDING reads the count, and a message claimed more than ``max_deliveries`` times is
parked (XADD to the dead stream and XACK, in one MULTI). ``nack`` re-claims the message for
itself with ``IDLE`` set so that it becomes claimable after ``retry_after`` (JUSTID: the count is
not bumped twice). Durability is the server's: run it with AOF (``appendonly yes``).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError, ResponseError
from redis.typing import EncodableT, FieldT

from contracts.events import CloudEvent
from service_kit.events.port import DeadLetter, Delivery, EventBusError, Start, UnknownDeadLetter

Entry = tuple[str, dict[str, str]]


class RedisStreamsBus:
    """``EventBus`` over Redis Streams (``redis://host:6379/0``)."""

    def __init__(
        self,
        *,
        url: str,
        stream: str = "interchange:events",
        lease_seconds: float = 30.0,
        max_deliveries: int = 5,
        max_length: int | None = None,
        max_connections: int = 50,
    ) -> None:
        self.stream = stream
        self.lease_seconds = lease_seconds
        self.max_deliveries = max_deliveries
        self.max_length = max_length  # approximate MAXLEN trim on XADD; None keeps everything
        # A blocking pool: redis-py's plain asyncio pool raises once every connection is in use.
        self._pool = BlockingConnectionPool.from_url(
            url, max_connections=max_connections, decode_responses=True, protocol=2
        )
        self._redis = Redis(connection_pool=self._pool)
        self._groups: set[str] = set()
        self._cursors: dict[tuple[str, str], str] = {}
        self._next_reclaim: dict[tuple[str, str], float] = {}

    @property
    def _lease_ms(self) -> int:
        return max(1, int(self.lease_seconds * 1000))

    def _replay_key(self, group: str) -> str:
        return f"{self.stream}:replay:{group}"

    def _errors_key(self, group: str) -> str:
        return f"{self.stream}:errors:{group}"

    @property
    def _dead_key(self) -> str:
        return f"{self.stream}:dead"

    async def publish(self, *, events: Sequence[CloudEvent]) -> list[str]:
        if not events:
            return []
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for event in events:
                    pipe.xadd(self.stream, _fields(event), maxlen=self.max_length, approximate=True)
                return [str(message_id) for message_id in await pipe.execute()]
        except RedisError as exc:
            raise EventBusError(f"event stream {self.stream}: {exc}") from exc

    async def ensure_group(self, *, group: str, start: Start = "earliest") -> None:
        for key, first in ((self.stream, "0" if start == "earliest" else "$"), (self._replay_key(group), "0")):
            try:
                await self._redis.xgroup_create(key, group, id=first, mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise EventBusError(f"event stream {key}: {exc}") from exc
        self._groups.add(group)

    async def receive(
        self,
        *,
        group: str,
        consumer: str,
        max_messages: int = 10,
        wait_seconds: float = 0.0,
        types: Collection[str] | None = None,
    ) -> list[Delivery]:
        try:
            if group not in self._groups:
                await self.ensure_group(group=group)
            out: list[Delivery] = []
            for key in (self.stream, self._replay_key(group)):
                if len(out) < max_messages and self._reclaim_due(key, group):
                    out += await self._reclaim(key, group, consumer, max_messages - len(out))
            if len(out) < max_messages:
                block = int(wait_seconds * 1000) if wait_seconds > 0 and not out else None
                response = await self._redis.xreadgroup(
                    group,
                    consumer,
                    {self.stream: ">", self._replay_key(group): ">"},
                    count=max_messages - len(out),
                    block=block,
                )
                for key, entries in _stream_entries(response):
                    # A stream has no server-side filter: other types are acked unread (no decoding).
                    others = [i for i, f in entries if types is not None and "type" in f and f["type"] not in types]
                    if others:
                        await self._redis.xack(key, group, *others)
                    skip = set(others)
                    out += [_delivery(key, entry, group, consumer, 1) for entry in entries if entry[0] not in skip]
            return out
        except RedisError as exc:
            raise EventBusError(f"event stream {self.stream}: {exc}") from exc

    def _reclaim_due(self, key: str, group: str) -> bool:
        # Leases are coarse, so expired ones are looked for a few times per lease (at most every
        # second), not on every receive: a steady-state receive is then one XREADGROUP.
        return time.monotonic() >= self._next_reclaim.get((key, group), 0.0)

    async def _reclaim(self, key: str, group: str, consumer: str, count: int) -> list[Delivery]:
        """Messages whose lease ran out (member died, hung or nacked), now this member's."""
        cursor = self._cursors.get((key, group), "0-0")
        next_cursor, claimed, *_ = await self._redis.xautoclaim(
            key, group, consumer, min_idle_time=self._lease_ms, start_id=cursor, count=count
        )
        self._cursors[(key, group)] = str(next_cursor)
        entries = _entries(claimed)
        if len(entries) < count and str(next_cursor) == "0-0":  # scanned to the end: rest a while
            self._next_reclaim[(key, group)] = time.monotonic() + min(1.0, self.lease_seconds / 4)
        if not entries:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:  # one round trip for the counts
            for message_id, _ in entries:
                pipe.xpending_range(key, group, min=message_id, max=message_id, count=1)
            answers = await pipe.execute()
        counts = {str(p["message_id"]): int(p["times_delivered"]) for answer in answers for p in answer}
        out = []
        for entry in entries:
            deliveries = counts.get(entry[0], 1)
            if deliveries > self.max_deliveries:
                error = _text(await self._redis.hget(self._errors_key(group), f"{key}|{entry[0]}"))
                reason = error or f"not acked within its lease {deliveries - 1} times (consumer died or too slow)"
                await self._park(key, group, entry, deliveries - 1, reason)
            else:
                out.append(_delivery(key, entry, group, consumer, deliveries))
        return out

    async def _park(self, key: str, group: str, entry: Entry, deliveries: int, error: str) -> None:
        message_id, fields = entry
        async with self._redis.pipeline(transaction=True) as pipe:
            dead: dict[FieldT, EncodableT] = {
                "group": group,
                "stream": key,
                "message_id": message_id,
                "event": fields["event"],
                "deliveries": str(deliveries),
                "error": error[:4000],
                "dead_at": repr(time.time()),
            }
            pipe.xadd(self._dead_key, dead)
            pipe.xack(key, group, message_id)
            pipe.hdel(self._errors_key(group), f"{key}|{message_id}")
            await pipe.execute()

    async def ack(self, *, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        by_stream: dict[tuple[str, str], list[str]] = {}
        for d in deliveries:
            by_stream.setdefault((d.location, d.group), []).append(d.message_id)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for (key, group), ids in by_stream.items():
                    pipe.xack(key, group, *ids)
                    pipe.hdel(self._errors_key(group), *(f"{key}|{i}" for i in ids))
                await pipe.execute()
        except RedisError as exc:
            raise EventBusError(f"event stream {self.stream}: {exc}") from exc

    async def nack(self, *, delivery: Delivery, error: str, retry_after: float = 0.0) -> None:
        d = delivery
        try:
            holder = await self._redis.xpending_range(d.location, d.group, min=d.message_id, max=d.message_id, count=1)
            if not holder or holder[0]["consumer"] != d.consumer:  # acked, parked, or another member's now
                return
            if d.attempt >= self.max_deliveries:
                await self._park(
                    d.location, d.group, (d.message_id, {"event": d.event.model_dump_json()}), d.attempt, error
                )
                return
            await self._redis.hset(self._errors_key(d.group), f"{d.location}|{d.message_id}", error[:4000])
            # Keep it ours, but look idle for (lease - retry_after): XAUTOCLAIM takes it after retry_after.
            idle = max(0, self._lease_ms - int(retry_after * 1000))
            await self._redis.xclaim(d.location, d.group, d.consumer, 0, [d.message_id], idle=idle, justid=True)
            due = time.monotonic() + retry_after
            self._next_reclaim[(d.location, d.group)] = min(due, self._next_reclaim.get((d.location, d.group), due))
            self._cursors.pop((d.location, d.group), None)  # rescan from the start
        except RedisError as exc:
            raise EventBusError(f"event stream {self.stream}: {exc}") from exc

    async def dead_letters(self, *, group: str | None = None, limit: int = 100) -> list[DeadLetter]:
        found: list[DeadLetter] = []
        start = "-"
        try:
            while len(found) < limit:
                page = await self._redis.xrange(self._dead_key, min=start, max="+", count=500)
                if not page:
                    break
                entries = _entries(page)
                found += [_dead_letter(*e) for e in entries if group is None or e[1].get("group") == group]
                start = f"({entries[-1][0]}"
        except RedisError as exc:
            raise EventBusError(f"event stream {self._dead_key}: {exc}") from exc
        return found[:limit]

    async def replay(self, *, dead_letter_id: str) -> DeadLetter:
        try:
            page = await self._redis.xrange(self._dead_key, min=dead_letter_id, max=dead_letter_id, count=1)
        except ResponseError:  # not a stream id
            page = []
        if not page:
            raise UnknownDeadLetter(f"no dead letter {dead_letter_id!r}")
        letter = _dead_letter(*_entries(page)[0])
        if letter.group not in self._groups:
            await self.ensure_group(group=letter.group)
        # Both or neither: a crash can at worst leave the dead letter in place, never lose it.
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self._replay_key(letter.group), {**_fields(letter.event), "replay_of": letter.id})
            pipe.xdel(self._dead_key, letter.id)
            await pipe.execute()
        return letter

    async def pending(self, *, group: str) -> int:
        total = 0
        try:
            for key in (self.stream, self._replay_key(group)):
                if await self._redis.exists(key):
                    summary = await self._redis.xpending(key, group)
                    total += int(summary["pending"])
        except ResponseError as exc:  # NOGROUP: the group has never read
            if "NOGROUP" not in str(exc):
                raise EventBusError(f"event stream {self.stream}: {exc}") from exc
        return total

    async def close(self) -> None:
        await self._redis.aclose()
        await self._pool.aclose()


def _fields(event: CloudEvent) -> dict[FieldT, EncodableT]:
    return {"event": event.model_dump_json(), "type": event.type, "id": event.id}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else "" if value is None else str(value)


def _entries(page: Any) -> list[Entry]:
    """Stream entries as (id, fields) strings; entries deleted meanwhile come back empty: dropped."""
    return [(_text(i), {_text(k): _text(v) for k, v in f.items()}) for i, f in page or [] if f]


def _delivery(key: str, entry: Entry, group: str, consumer: str, attempt: int) -> Delivery:
    message_id, fields = entry
    event = CloudEvent.model_validate_json(fields["event"])
    return Delivery(str(message_id), event, group, consumer, attempt, location=key)


def _dead_letter(id_: str, fields: dict[str, str]) -> DeadLetter:
    return DeadLetter(
        id=str(id_),
        group=fields["group"],
        message_id=fields["message_id"],
        event=CloudEvent.model_validate_json(fields["event"]),
        deliveries=int(fields["deliveries"]),
        error=fields["error"],
        dead_at=datetime.fromtimestamp(float(fields["dead_at"]), UTC),
    )


def _stream_entries(response: Any) -> list[tuple[str, list[Entry]]]:
    """XREADGROUP's RESP2 answer, ``[[stream, [(id, fields), ...]], ...]``, as (stream, entries)."""
    return [(_text(key), _entries(entries)) for key, entries in response or []]


__all__ = ["RedisStreamsBus"]
