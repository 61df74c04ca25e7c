"""The audit log: one record per proxied call, written off the request path.

The proxy only appends a tuple to an in-memory queue (``AuditLog.record``, about a microsecond);
one background writer (``AuditLog.run``, a worker of the app) drains it and inserts what it finds
in one transaction per batch, many rows per INSERT (``_InsertRows``). One writer batching
commits is what SQLite can sustain: a commit per request through SQLAlchemy async costs ~600 µs
and serialises every request on the one WAL writer; batches of hundreds cost a few µs a row
(shared/notes/PERFORMANCE.md). The writer waits ``linger_seconds`` (``audit_linger_seconds``)
after the first record of a batch, so batches are large under load too: writing as soon as one
record arrived cost the gateway ~100 µs of CPU per proxied call at 2,500 calls/s
(bench/README.md).

The queue is bounded (``audit_queue_size``). When it is full the *oldest* record is dropped, and
counted in ``interchange_gateway_audit_dropped_total``: the gateway keeps answering at full speed
while its database is slow or down (blocking would stall every partner behind the audit table,
and refusing calls would make an audit outage an API outage), and what is kept is the most recent
traffic, which is what an incident needs. Dropped records are the price; the metric says when it
is paid. A batch the database refuses is logged and counted (``..._write_failures_total``), not
retried. On shutdown the writer writes what is left before the database closes.

Retention: records older than ``audit_retention_days`` (90) are deleted by ``AuditRetention``, a
worker of the app, at start-up and every ``audit_prune_interval`` seconds (an hour), and on demand
by ``interchange audit prune``. ``prune_audit`` deletes at most ``audit_prune_batch_size`` (5,000)
rows per transaction and lets other tasks run between two: the audit writer waits for one batch
at most, never for the whole purge of a large backlog. Removed records are counted in
``interchange_gateway_audit_pruned_total``. Several replicas on one database each prune; the
deletes do not conflict, the later one finds nothing.

``query_audit`` reads the log back for ``interchange audit``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import bindparam, delete, insert, select

from gateway.models import AuditRecord
from service_kit.db import Database
from service_kit.leases import run_scheduled
from service_kit.workers import Wakeup, run_worker

log = structlog.get_logger("gateway.audit")

#: The columns of one record, in the order ``AuditLog.record`` takes them.
COLUMNS = (
    "at",
    "client_id",
    "partner_id",
    "method",
    "api",
    "version",
    "operation",
    "path",
    "status",
    "latency_ms",
    "correlation_id",
)
Row = tuple[float, str | None, str | None, str, str, str, str | None, str, int, float, str]


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    client_id: str | None
    partner_id: str | None
    method: str
    api: str
    version: str
    operation: str | None
    path: str
    status: int
    latency_ms: float
    correlation_id: str


class AuditLog:
    def __init__(
        self,
        db: Database,
        *,
        queue_size: int,
        batch_size: int,
        registry: CollectorRegistry,
        linger_seconds: float = 0.0,
    ) -> None:
        self._db = db
        self._batch_size = batch_size
        self._linger = linger_seconds
        # A deque with maxlen is the bounded queue: appending to a full one drops the oldest, in C.
        self._queue: deque[Row] = deque(maxlen=queue_size)
        self._wakeup = Wakeup()
        self._writing = asyncio.Lock()
        self._inflight: list[Row] = []
        self._insert: _InsertRows | None = None
        self.written = Counter(
            "interchange_gateway_audit_written", "Audit records written to the database", registry=registry
        )
        self.dropped = Counter(
            "interchange_gateway_audit_dropped", "Audit records dropped because the queue was full", registry=registry
        )
        self.failures = Counter(
            "interchange_gateway_audit_write_failures", "Audit batches the database refused", registry=registry
        )
        depth = Gauge("interchange_gateway_audit_queue_depth", "Audit records waiting to be written", registry=registry)
        depth.set_function(lambda: len(self._queue))

    def record(self, row: Row) -> None:
        """Queue one record (the hot path: no I/O, no await)."""
        queue = self._queue
        if not queue:  # the first of a batch wakes the writer; it drains everything up to empty
            self._wakeup.notify()
        elif len(queue) == queue.maxlen:
            self.dropped.inc()
        queue.append(row)

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def run(self, *, stop_event: asyncio.Event | None = None) -> None:
        """The writer: drain the queue in batches until ``stop_event`` is set (on the kit's worker
        runtime: idle, it waits for the next record and nothing else)."""
        try:
            await run_worker(
                "audit_writer",
                self._write_queued,
                wakeup=self._wakeup,
                stop_event=stop_event or asyncio.Event(),
                idle_backoff=(3600.0, 3600.0),  # nothing falls due by time: only a record wakes it
            )
        except asyncio.CancelledError:
            # Shutting down: what was being written (its transaction was cancelled with us) and
            # what is still queued go in now, before the database is closed.
            self._queue.extendleft(reversed(self._inflight))
            self._inflight = []
            await self.flush()
            raise

    async def _write_queued(self) -> int:
        queued = len(self._queue)
        if not queued:
            return 0
        if self._linger and queued < self._batch_size:
            # Let the batch fill: a transaction costs the same for one record as for hundreds,
            # and under load it would otherwise be one per request or two.
            await asyncio.sleep(self._linger)
        queued = len(self._queue)
        await self.flush()
        return queued

    async def flush(self) -> None:
        """Write everything queued so far (after the batch being written, if any)."""
        async with self._writing:
            while self._queue:
                take = min(len(self._queue), self._batch_size)
                self._inflight = [self._queue.popleft() for _ in range(take)]
                await self._write(self._inflight)
                self._inflight = []

    async def _write(self, batch: Sequence[Row]) -> None:
        try:
            async with self._db.engine.begin() as conn:
                if self._insert is None:
                    self._insert = _InsertRows.for_dialect(conn.dialect)
                for sql, parameters in self._insert.statements(batch):
                    await conn.exec_driver_sql(sql, parameters)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failures.inc()
            log.warning("audit_write_failed", records=len(batch), error=repr(exc))
            return
        self.written.inc(len(batch))


#: The most rows one INSERT carries (11 parameters each: far below SQLite's and asyncpg's limits).
ROWS_PER_STATEMENT = 128


class _InsertRows:
    """The audit INSERT compiled for the database's driver, a multi-row ``VALUES`` per statement,
    and the rows as its parameters.

    Written by hand rather than ``conn.execute(insert(AuditRecord), [dict, ...])``: SQLAlchemy
    builds every row's parameters in Python (``construct_params``), which cost the gateway about
    a quarter of its CPU per proxied call under load (py-spy, bench/README.md). Many rows per
    statement rather than the driver's ``executemany``: sqlite3 releases and retakes the GIL
    around every row it steps, and under load each retake is a forced switch with the event loop
    (about 40 µs of the gateway's CPU per proxied call, bench/README.md); one statement per
    ``ROWS_PER_STATEMENT`` rows hands over a few times per batch. A batch is cut into statements
    of 128, 64, 32, ... rows, so at most eight statement texts exist (compiled on first use)."""

    __slots__ = ("_compiled", "_dialect")

    def __init__(self, dialect: Any) -> None:
        self._dialect = dialect
        #: rows -> (SQL, where each positional parameter is: (row, column); None: named)
        self._compiled: dict[int, tuple[str, tuple[tuple[int, int], ...] | None]] = {}

    @classmethod
    def for_dialect(cls, dialect: Any) -> _InsertRows:
        return cls(dialect)

    def statements(self, batch: Sequence[Row]) -> list[tuple[str, Any]]:
        """The statements that insert ``batch``, each with its parameters."""
        done: list[tuple[str, Any]] = []
        start, size = 0, ROWS_PER_STATEMENT
        while start < len(batch):
            while size > len(batch) - start:
                size //= 2
            done.append(self._statement(batch[start : start + size]))
            start += size
        return done

    def _statement(self, rows: Sequence[Row]) -> tuple[str, Any]:
        compiled = self._compiled.get(len(rows))
        if compiled is None:
            compiled = self._compiled[len(rows)] = self._compile(len(rows))
        sql, order = compiled
        if order is None:
            return sql, {
                f"{name}_{i}": value for i, row in enumerate(rows) for name, value in zip(COLUMNS, row, strict=True)
            }
        return sql, tuple(rows[i][c] for i, c in order)

    def _compile(self, rows: int) -> tuple[str, tuple[tuple[int, int], ...] | None]:
        values: list[dict[str, Any]] = [{name: bindparam(f"{name}_{i}") for name in COLUMNS} for i in range(rows)]
        compiled = insert(AuditRecord).values(values).compile(dialect=self._dialect)
        if not compiled.positional:
            return str(compiled), None
        where = {f"{name}_{i}": (i, c) for i in range(rows) for c, name in enumerate(COLUMNS)}
        return str(compiled), tuple(where[name] for name in compiled.positiontup or ())


SECONDS_PER_DAY = 86_400


async def prune_audit(db: Database, *, before: float, batch_size: int) -> int:
    """Delete the records that arrived before ``before`` (seconds since the epoch), ``batch_size``
    per transaction; how many were deleted."""
    removed = 0
    while True:
        oldest = select(AuditRecord.id).where(AuditRecord.at < before).limit(batch_size)
        async with db.transaction() as session:
            result: Any = await session.execute(delete(AuditRecord).where(AuditRecord.id.in_(oldest)))
        count = int(result.rowcount or 0)
        removed += count
        if count < batch_size:
            return removed
        await asyncio.sleep(0)  # between two transactions: let the audit writer in


class AuditRetention:
    """The worker that keeps the audit log to ``retention_days``: a prune at start-up, then one
    every ``interval`` seconds, once per interval across the gateway's replicas (a replica that
    starts in an interval another one pruned waits for the next). A prune the database refuses is
    logged and tried at the next one."""

    def __init__(
        self,
        db: Database,
        *,
        retention_days: int,
        interval: float,
        batch_size: int,
        registry: CollectorRegistry,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._retention = retention_days * SECONDS_PER_DAY
        self._interval = interval
        self._batch_size = batch_size
        self.clock = clock
        #: Set after every pass, whatever it removed (what tests wait for).
        self.passed = asyncio.Event()
        self.pruned = Counter(
            "interchange_gateway_audit_pruned", "Audit records deleted past their retention", registry=registry
        )

    async def run(self, *, stop_event: asyncio.Event | None = None) -> None:
        # Once per interval across the gateway's replicas (and restarts): service_kit.leases.
        await run_scheduled(
            "audit_retention",
            self.prune,
            db=self._db,
            every=self._interval,
            stop_event=stop_event or asyncio.Event(),
            clock=self.clock,
        )

    async def prune(self) -> int:
        """One pass: delete what is past the retention; how many (0 when the database failed)."""
        before = self.clock() - self._retention
        try:
            removed = await prune_audit(self._db, before=before, batch_size=self._batch_size)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("audit_prune_failed", error=repr(exc))
            removed = 0
        else:
            self.pruned.inc(removed)
            if removed:
                log.info("audit_pruned", records=removed, before=before)
        self.passed.set()
        return removed


async def query_audit(
    db: Database,
    *,
    client_id: str | None = None,
    partner_id: str | None = None,
    status: str | None = None,
    since: float | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """The newest records first. ``status``: ``404``, or a class such as ``4xx``."""
    query: Any = select(AuditRecord).order_by(AuditRecord.at.desc(), AuditRecord.id.desc()).limit(limit)
    if client_id:
        query = query.where(AuditRecord.client_id == client_id)
    if partner_id:
        query = query.where(AuditRecord.partner_id == partner_id)
    if since is not None:
        query = query.where(AuditRecord.at >= since)
    if status:
        low, high = status_range(status)
        query = query.where(AuditRecord.status >= low, AuditRecord.status <= high)
    async with db.transaction() as session:
        rows = (await session.execute(query)).scalars()
        return [AuditEntry(**{c: getattr(r, c) for c in ("id", *COLUMNS)}) for r in rows]


def status_range(status: str) -> tuple[int, int]:
    """``"404"`` is 404 to 404, ``"4xx"`` is 400 to 499."""
    text = status.strip().lower()
    if len(text) == 3 and text[0] in "12345" and text[1:] == "xx":
        base = int(text[0]) * 100
        return base, base + 99
    if text.isdigit() and len(text) == 3:
        return int(text), int(text)
    raise ValueError(f"a status is a code such as 404 or a class such as 4xx, not {status!r}")


__all__ = [
    "COLUMNS",
    "SECONDS_PER_DAY",
    "AuditEntry",
    "AuditLog",
    "AuditRetention",
    "Row",
    "prune_audit",
    "query_audit",
    "status_range",
]
