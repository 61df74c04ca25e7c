"""The WMS's hot requests as one unit of work each: one hand-off to a database thread, not one
per statement.

With aiosqlite every statement is a hand-off from the event loop to the connection's thread and
back; on the WMS's hot paths (a reservation, a pick release, a receipt) those hand-offs and the
request's ORM session around them were most of the CPU, several times what SQLite took to run
the statements. Here the whole unit (its reads, its conditional updates, its journal and outbox
rows) runs as synchronous SQLAlchemy Core in one thread, in one transaction: committed when the
function returns, rolled back when it raises, so nothing is half-written. On SQLite that thread
is this process's one WMS writer (a single-thread executor with its own connection, with the
pragmas ``service_kit.db`` sets), so the WMS's own units never wait for each other's lock; other
databases run the same function through the service's async engine (``run_sync``).

Hand-written because neither SQLAlchemy nor aiosqlite offers "run this function in the
connection's thread" publicly; it is SQLAlchemy's own sync engine on an executor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from service_kit.db import Database, sqlite_pragmas
from service_kit.events.outbox import OUTBOX
from service_kit.workers import wakeup_for

T = TypeVar("T")


@dataclass
class Unit:
    """What a unit of work gets: the connection of its transaction, and whether it staged events
    (the runner then wakes the outbox relay once the transaction has committed)."""

    conn: Connection
    announced: bool = field(default=False)

    def entry(self, work: Callable[[], T]) -> T:
        """``work`` as one entry of a batch: in a SAVEPOINT, so when it raises, only its own
        writes are undone (the error goes to the caller) and the other entries' stay."""
        with self.conn.begin_nested():
            return work()


class UnitRunner:
    def __init__(self, *, db: Database) -> None:
        self.db = db
        self._engine: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        url = db.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            sync_url = make_url(f"sqlite:///{url.database}")
            self._engine = create_engine(sync_url, connect_args={"timeout": 30, "check_same_thread": False})
            event.listen(self._engine, "connect", sqlite_pragmas)  # as every service connection's
            # The transaction begins with BEGIN, as SQLAlchemy's SQLite page advises for SAVEPOINT:
            # left to itself the driver begins only before a write, so a batch's first SAVEPOINT
            # (``Unit.entry``) would open the transaction and its RELEASE commit it. IMMEDIATE: a
            # unit reads before it writes, and a deferred transaction whose snapshot another
            # connection (the outbox relay's) wrote past fails its first write at once ("database
            # is locked", no busy wait); the lock taken up front is waited for instead.
            event.listen(self._engine, "connect", _driver_autocommit)
            event.listen(self._engine, "begin", _begin)
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wms-units")

    @property
    def engine(self) -> Engine:
        """The engine units run on (the async engine's sync face where there is no thread of ours)."""
        return self._engine if self._engine is not None else self.db.engine.sync_engine

    async def run(self, work: Callable[[Unit], T]) -> T:
        """``work`` in one transaction; its result, or what it raised (nothing kept then)."""
        if self._engine is not None and self._thread is not None:
            engine = self._engine
            unit, result = await asyncio.get_running_loop().run_in_executor(self._thread, _in_transaction, engine, work)
        else:
            async with self.db.engine.begin() as conn:
                unit, result = await conn.run_sync(lambda sync_conn: _unit_of(sync_conn, work))
        if unit.announced:
            wakeup_for(db=self.db, topic=OUTBOX).notify()
        return result

    async def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)
        if self._engine is not None:
            self._engine.dispose()


def _driver_autocommit(dbapi_conn: Any, _: Any = None) -> None:
    dbapi_conn.isolation_level = None  # the driver issues no BEGIN/COMMIT of its own; ``_begin`` does


def _begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _in_transaction(engine: Engine, work: Callable[[Unit], T]) -> tuple[Unit, T]:
    with engine.begin() as conn:
        return _unit_of(conn, work)


def _unit_of(conn: Connection, work: Callable[[Unit], T]) -> tuple[Unit, T]:
    unit = Unit(conn)
    return unit, work(unit)


__all__ = ["Unit", "UnitRunner"]
