"""The embedded event bus: a durable log in one SQLite file that the local services share.

Why hand-written: no maintained library offers a multi-process SQLite log with consumer groups,
leases and dead letters (persist-queue and litequeue are single-consumer queues with no fan-out
and no visibility timeout), and the embedded mode must run with no server at all. The model is
Redis Streams' own, so both adapters behave alike:

- ``event_log``: append-only (an UPDATE trigger refuses changes), ``log_offset`` an
  AUTOINCREMENT key, so offsets only grow and are never reused;
- ``consumer_groups``: per group, ``last_delivered`` (the read cursor) and ``committed`` (every
  offset at or below it is acked or parked as a dead letter);
- ``pending``: per group, each message handed out and not yet acked, with its member, lease
  deadline, delivery count and last error (Redis' pending entries list);
- ``dead_letters``: messages parked after ``max_deliveries``; ``replay`` moves one back into
  its group's ``pending`` with a fresh count.

Every operation is one short transaction (``BEGIN IMMEDIATE``) run on one dedicated thread per
bus, so a call costs one thread hop however many statements it runs (aiosqlite pays ~90 µs per
statement). WAL mode lets readers and the one writer of the moment run side by side; other
processes wait on ``busy_timeout``. Idle consumers on the worker runtime wait on
``change_probe()`` (``PRAGMA data_version``: no lock, no thread hop) and claim only after a change;
``receive(wait_seconds=...)`` polls with a read-only probe that takes no write lock. Publishing
commits with ``synchronous=FULL`` by default (a published event survives a power cut); consumer
bookkeeping commits with ``NORMAL``: a lost ack or lease after a power cut only means a
redelivery, which consumers dedupe.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from contracts.events import CloudEvent
from service_kit.events.port import DeadLetter, Delivery, EventBusError, Start, UnknownDeadLetter
from service_kit.events.sqlite_schema import SCHEMA, dead_letter_rows, write
from service_kit.files import private_sqlite_file
from service_kit.workers import DataVersionProbe

T = TypeVar("T")

#: Events of types a group does not take that may pile up behind its read cursor before a claim
#: moves the cursor past them (while it has nothing of its own to claim: no write lock until then).
SKIP_AHEAD = 256


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SqliteEventLog:
    """``EventBus`` over a SQLite file (``sqlite:///var/events.db``)."""

    def __init__(
        self,
        *,
        path: str | Path,
        lease_seconds: float = 30.0,
        max_deliveries: int = 5,
        poll_interval: float = 0.05,
        synchronous: str = "FULL",
    ) -> None:
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
        self.path = Path(path)
        self.lease_seconds = lease_seconds
        self.max_deliveries = max_deliveries
        self.poll_interval = poll_interval
        self._synchronous = synchronous.upper()
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._groups: set[str] = set()

    # -- plumbing: every call runs on this bus's own thread, which owns the connection ----------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="event-log")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            raise EventBusError(f"event log {self.path}: {exc}") from exc

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            private_sqlite_file(self.path)  # 0600, so its -wal and -shm are too
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # bookkeeping; publishing raises it (see _append)
            conn.executescript(SCHEMA)  # IF NOT EXISTS: safe when several processes start at once
            self._conn = conn
        return self._conn

    def change_probe(self) -> DataVersionProbe:
        """What an idle consumer waits on: any commit to the log by another connection (another
        process's append, or this one's bus thread), seen with ``PRAGMA data_version`` every
        ``poll_interval`` seconds (``service_kit.workers``)."""
        return DataVersionProbe(self.path, interval=self.poll_interval)

    # -- publishing -----------------------------------------------------------------------------

    async def publish(self, *, events: Sequence[CloudEvent]) -> list[str]:
        if not events:
            return []
        rows = [(e.id, e.type, e.subject, e.model_dump_json(), time.time()) for e in events]
        return await self._run(self._append, rows)

    def _append(self, rows: list[tuple[str, str, str | None, str, float]]) -> list[str]:
        db = self._db()
        db.execute(f"PRAGMA synchronous={self._synchronous}")
        try:
            with write(db):
                db.executemany(
                    "INSERT INTO event_log (event_id, type, subject, envelope, appended_at) VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
                # One writer holds the IMMEDIATE lock, so the new offsets are consecutive: count back.
                (last,) = db.execute("SELECT last_insert_rowid()").fetchone()
        finally:
            db.execute("PRAGMA synchronous=NORMAL")
        return [str(offset) for offset in range(last - len(rows) + 1, last + 1)]

    # -- consumer groups ------------------------------------------------------------------------

    async def ensure_group(self, *, group: str, start: Start = "earliest") -> None:
        await self._run(self._ensure_group, group, start)

    def _ensure_group(self, group: str, start: Start) -> None:
        db = self._db()
        with write(db):
            (head,) = db.execute("SELECT COALESCE(MAX(log_offset), 0) FROM event_log").fetchone()
            position = 0 if start == "earliest" else head
            db.execute(
                "INSERT OR IGNORE INTO consumer_groups (name, last_delivered, committed, created_at) "
                "VALUES (?, ?, ?, ?)",
                (group, position, position, time.time()),
            )
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
        if group not in self._groups:
            await self.ensure_group(group=group)
        wanted = None if types is None else tuple(sorted(types))
        deadline = time.monotonic() + wait_seconds
        while True:
            claimed = await self._run(self._claim, group, consumer, max_messages, wanted)
            if claimed or time.monotonic() >= deadline:
                return [
                    Delivery(str(offset), CloudEvent.model_validate_json(envelope), group, consumer, attempt)
                    for offset, envelope, attempt in claimed
                ]
            await asyncio.sleep(self.poll_interval)

    def _claim(
        self, group: str, consumer: str, limit: int, types: tuple[str, ...] | None = None
    ) -> list[tuple[int, str, int]]:
        db = self._db()
        now = time.time()
        of_type = "" if types is None else f" AND type IN ({_marks(len(types))})"
        cursor = "(SELECT last_delivered FROM consumer_groups WHERE name = ?)"
        work, behind = db.execute(
            "SELECT EXISTS (SELECT 1 FROM pending WHERE grp = ? AND lease_until <= ?) "  # noqa: S608
            f"OR EXISTS (SELECT 1 FROM event_log WHERE log_offset > {cursor}{of_type}), "
            f"(SELECT COALESCE(MAX(log_offset), 0) FROM event_log) - {cursor}",
            (group, now, group, *(types or ()), group),
        ).fetchone()
        # Nothing to do: no write lock taken. Events of other types are passed over without being
        # delivered; the cursor moves past them with the next claim, or once they pile up.
        if not work and (behind or 0) < SKIP_AHEAD:
            return []
        with write(db):
            due = db.execute(
                "SELECT log_offset, deliveries, last_error FROM pending "
                "WHERE grp = ? AND lease_until <= ? ORDER BY log_offset LIMIT ?",
                (group, now, limit),
            ).fetchall()
            attempts: dict[int, int] = {}
            for offset, deliveries, error in due:
                if deliveries >= self.max_deliveries:
                    reason = error or f"not acked within its lease {deliveries} times (consumer died or too slow)"
                    self._park(db, group, offset, deliveries, reason, now)
                else:
                    attempts[offset] = deliveries + 1
            if attempts:
                db.execute(
                    f"UPDATE pending SET consumer = ?, lease_until = ?, deliveries = deliveries + 1 "  # noqa: S608
                    f"WHERE grp = ? AND log_offset IN ({_marks(len(attempts))})",
                    (consumer, now + self.lease_seconds, group, *attempts),
                )
            passed = False
            if len(attempts) < limit:
                (read_to,) = db.execute(
                    "SELECT last_delivered FROM consumer_groups WHERE name = ?", (group,)
                ).fetchone()
                room = limit - len(attempts)
                fresh = [
                    offset
                    for (offset,) in db.execute(
                        f"SELECT log_offset FROM event_log WHERE log_offset > ?{of_type} "  # noqa: S608
                        "ORDER BY log_offset LIMIT ?",
                        (read_to, *(types or ()), room),
                    )
                ]
                if fresh:
                    db.executemany(
                        "INSERT OR REPLACE INTO pending (grp, log_offset, consumer, lease_until, deliveries) "
                        "VALUES (?, ?, ?, ?, 1)",
                        [(group, offset, consumer, now + self.lease_seconds) for offset in fresh],
                    )
                    attempts.update(dict.fromkeys(fresh, 1))
                # The read cursor: past the last event handed out; with a type filter and room to
                # spare, past everything written so far (the rest was of other types: skipped).
                if types is not None and len(fresh) < room:
                    (head,) = db.execute("SELECT COALESCE(MAX(log_offset), 0) FROM event_log").fetchone()
                    passed = head > read_to and not fresh
                    last = max(read_to, head)
                else:
                    last = fresh[-1] if fresh else read_to
                if last != read_to:
                    db.execute("UPDATE consumer_groups SET last_delivered = ? WHERE name = ?", (last, group))
            if len(due) > len(attempts) or passed:
                self._advance_committed(db, group)
            if not attempts:
                return []
            envelopes = db.execute(
                f"SELECT log_offset, envelope FROM event_log WHERE log_offset IN ({_marks(len(attempts))}) "  # noqa: S608
                "ORDER BY log_offset",
                tuple(attempts),
            ).fetchall()
        return [(offset, envelope, attempts[offset]) for offset, envelope in envelopes]

    def _park(self, db: sqlite3.Connection, group: str, offset: int, deliveries: int, error: str, now: float) -> None:
        db.execute("DELETE FROM pending WHERE grp = ? AND log_offset = ?", (group, offset))
        db.execute(
            "INSERT INTO dead_letters (grp, log_offset, deliveries, error, dead_at) VALUES (?, ?, ?, ?, ?)",
            (group, offset, deliveries, error[:4000], now),
        )

    @staticmethod
    def _advance_committed(db: sqlite3.Connection, group: str) -> None:
        # The low-water mark: below the oldest message still pending, else the read cursor.
        # Kept monotonic, so a replayed dead letter (an old offset) does not move it back.
        db.execute(
            "UPDATE consumer_groups SET committed = MAX(committed, COALESCE("
            "(SELECT MIN(log_offset) - 1 FROM pending WHERE grp = :g), last_delivered)) WHERE name = :g",
            {"g": group},
        )

    async def ack(self, *, deliveries: Sequence[Delivery]) -> None:
        by_group: dict[str, list[int]] = {}
        for d in deliveries:
            by_group.setdefault(d.group, []).append(int(d.message_id))
        if by_group:
            await self._run(self._ack, by_group)

    def _ack(self, by_group: dict[str, list[int]]) -> None:
        db = self._db()
        with write(db):
            for group, offsets in by_group.items():
                db.execute(
                    f"DELETE FROM pending WHERE grp = ? AND log_offset IN ({_marks(len(offsets))})",  # noqa: S608
                    (group, *offsets),
                )
                self._advance_committed(db, group)

    async def nack(self, *, delivery: Delivery, error: str, retry_after: float = 0.0) -> None:
        await self._run(self._nack, delivery, error, retry_after)

    def _nack(self, delivery: Delivery, error: str, retry_after: float) -> None:
        db = self._db()
        now = time.time()
        offset = int(delivery.message_id)
        with write(db):
            row = db.execute(
                "SELECT deliveries FROM pending WHERE grp = ? AND log_offset = ? AND consumer = ?",
                (delivery.group, offset, delivery.consumer),
            ).fetchone()
            if row is None:  # acked, parked, or leased to another member since
                return
            if row[0] >= self.max_deliveries:
                self._park(db, delivery.group, offset, row[0], error, now)
                self._advance_committed(db, delivery.group)
            else:
                db.execute(
                    "UPDATE pending SET lease_until = ?, last_error = ? WHERE grp = ? AND log_offset = ?",
                    (now + retry_after, error[:4000], delivery.group, offset),
                )

    # -- dead letters ---------------------------------------------------------------------------

    async def dead_letters(self, *, group: str | None = None, limit: int = 100) -> list[DeadLetter]:
        return await self._run(self._dead_letters, group, limit)

    def _dead_letters(self, group: str | None, limit: int, only_id: int | None = None) -> list[DeadLetter]:
        rows = self._db().execute(
            "SELECT d.id, d.grp, d.log_offset, d.deliveries, d.error, d.dead_at, e.envelope "
            "FROM dead_letters d JOIN event_log e ON e.log_offset = d.log_offset "
            "WHERE (:g IS NULL OR d.grp = :g) AND (:i IS NULL OR d.id = :i) ORDER BY d.id LIMIT :n",
            {"g": group, "i": only_id, "n": limit},
        )
        return list(dead_letter_rows(rows))

    async def replay(self, *, dead_letter_id: str) -> DeadLetter:
        return await self._run(self._replay, dead_letter_id)

    def _replay(self, dead_letter_id: str) -> DeadLetter:
        db = self._db()
        with write(db):
            found = self._dead_letters(None, 1, int(dead_letter_id)) if dead_letter_id.isdigit() else []
            if not found:
                raise UnknownDeadLetter(f"no dead letter {dead_letter_id!r}")
            letter = found[0]
            db.execute("DELETE FROM dead_letters WHERE id = ?", (int(letter.id),))
            db.execute(
                "INSERT OR REPLACE INTO pending (grp, log_offset, consumer, lease_until, deliveries) "
                "VALUES (?, ?, '', 0, 0)",
                (letter.group, int(letter.message_id)),
            )
        return letter

    # -- inspection and shutdown ----------------------------------------------------------------

    async def committed_offset(self, *, group: str) -> int | None:
        """Every offset at or below this one is acked or parked for ``group``."""

        def read() -> int | None:
            row = self._db().execute("SELECT committed FROM consumer_groups WHERE name = ?", (group,)).fetchone()
            return None if row is None else int(row[0])

        return await self._run(read)

    async def pending(self, *, group: str) -> int:
        def count() -> int:
            return int(self._db().execute("SELECT COUNT(*) FROM pending WHERE grp = ?", (group,)).fetchone()[0])

        return await self._run(count)

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)
        self._executor = None


__all__ = ["SqliteEventLog"]
