"""One async database per service: SQLite file by default, any SQLAlchemy URL by setting.

The request (or the worker) owns the transaction: ``SessionDep`` yields a session that commits
when the endpoint returns and rolls back when it raises, so a failed request leaves nothing
half-written. Services and repositories never commit on their own. ``ReadConnDep`` is for reads
that run Core statements: a bare connection, never committed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from anyio import CancelScope
from fastapi import Depends, Request
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from service_kit import sqlite_onehop
from service_kit.files import private_sqlite_file


class KitBase(DeclarativeBase):
    """Tables the kit itself keeps in every service's database (idempotency keys)."""


class Database:
    def __init__(
        self, url: str, *, metadata: Sequence[MetaData] = (), echo: bool = False, pool_size: int | None = None
    ) -> None:
        """``pool_size``: connections kept open (default: SQLAlchemy's 5). Requests hold theirs
        while they call the tier below, so size it for the concurrency a service sees: an
        overflow connection is opened and closed per use, and with aiosqlite that is a thread
        started and stopped each time."""
        self.url = make_url(url)
        self.metadata = [KitBase.metadata, *metadata]
        kwargs: dict[str, Any] = {"echo": echo}
        file_db = bool(self.url.database) and self.url.database != ":memory:"
        if self.url.get_backend_name() == "sqlite":
            if file_db:
                private_sqlite_file(Path(str(self.url.database)))  # 0600, so its -wal and -shm are too
            kwargs["connect_args"] = {"timeout": 30}
        if pool_size is not None and (self.url.get_backend_name() != "sqlite" or file_db):
            kwargs["pool_size"] = pool_size
        if self.url.get_driver_name() == "aiosqlite":
            kwargs["module"] = sqlite_onehop.dbapi()  # one thread hand-off per statement
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.url.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", sqlite_pragmas)
        if self.url.get_driver_name() == "aiosqlite":
            _skip_idle_commits(self.engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def create_schema(self) -> None:
        """The tables of ``metadata`` as they are now, for a throwaway database (tests, scratch
        tools). A service's own database goes through its migrations (``service_kit.migrations``),
        which the app factory applies at start."""
        async with self.engine.begin() as conn:
            for md in self.metadata:
                await conn.run_sync(md.create_all)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work for workers and scripts: commit on success, roll back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def _skip_idle_commits(engine: AsyncEngine) -> None:
    """COMMIT and ROLLBACK only when SQLite has a transaction open.

    A read-only request still ends with the session's commit and the pool's rollback-on-return:
    with aiosqlite each is a hand-off to the connection's thread and back (~70 µs of CPU) for a
    statement SQLite would ignore (a SELECT opens no transaction in sqlite3's default mode).
    ``in_transaction`` is sqlite3's own flag, read without a hand-off. Set on this engine's
    dialect only; SQLAlchemy's hooks (the pool's ``reset`` event) cannot skip the commit."""
    dialect = engine.sync_engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        if dbapi_connection.driver_connection.in_transaction:
            commit(dbapi_connection)

    def do_rollback(dbapi_connection: Any) -> None:
        if dbapi_connection.driver_connection.in_transaction:
            rollback(dbapi_connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]


def sqlite_pragmas(dbapi_conn: Any, _: Any = None) -> None:
    """The pragmas of every connection to a service's SQLite file (a ``connect`` event listener);
    public so a second engine on the same file (the WMS's unit runner) sets the same."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class _ShieldedExit:
    """Exits ``inner`` shielded from cancellation, as FastAPI exits a generator dependency: a
    commit, rollback or close cut short would leave the connection mid-transaction (the module
    docstring of tests/unit/service_kit/test_db_cancellation.py says what that does with aiosqlite)."""

    __slots__ = ("inner",)

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __aenter__(self) -> Any:  # never entered: only its exit is pushed on a stack
        raise NotImplementedError

    async def __aexit__(self, *exc_info: Any) -> Any:
        with CancelScope(shield=True):
            return await self.inner.__aexit__(*exc_info)


def _endpoint_exit_stack(request: Request) -> AsyncExitStack:
    """FastAPI's exit stack around the endpoint (what ``scope="function"`` dependencies use): it
    closes when the endpoint has returned or raised, before the response is sent."""
    stack = request.scope.get("fastapi_function_astack")
    if not isinstance(stack, AsyncExitStack):
        raise RuntimeError("SessionDep and ReadConnDep work inside a FastAPI route only.")
    return stack


# The request's session and read connection are plain dependencies that enter their context on
# FastAPI's endpoint exit stack, not ``yield`` dependencies: FastAPI wraps each of those in two
# context managers and a cancel scope per request (~120 Python calls, a tenth of a status read's
# framework work), for what is here one context entered and one shielded exit. Same semantics:
# the commit runs when the endpoint returns and a raise rolls back, both before the response is
# sent, so a client never sees a 2xx for a write that then failed to commit.
async def _request_session(request: Request) -> AsyncSession:
    db: Database = request.app.state.db
    stack = _endpoint_exit_stack(request)
    session = db.sessions()
    stack.push_async_exit(_ShieldedExit(session))  # closed last, whatever happens next
    transaction = session.begin()
    await transaction.__aenter__()
    stack.push_async_exit(_ShieldedExit(transaction))  # commits, or rolls back on a raise
    return session


SessionDep = Annotated[AsyncSession, Depends(_request_session)]


async def _read_connection(request: Request) -> AsyncConnection:
    db: Database = request.app.state.db
    stack = _endpoint_exit_stack(request)
    connection = db.engine.connect()
    await connection.__aenter__()
    stack.push_async_exit(_ShieldedExit(connection))  # closed with a rollback: nothing it runs is kept
    return connection


# For read endpoints that run Core statements: a connection with no ORM session around it (the
# session's bookkeeping was about a quarter of a status read's CPU). Reads only: the connection is
# closed without a commit, so anything written through it is rolled back. It goes back to the
# pool when the endpoint returns, before the response is sent.
ReadConnDep = Annotated[AsyncConnection, Depends(_read_connection)]


__all__ = ["Database", "KitBase", "ReadConnDep", "SessionDep", "sqlite_pragmas"]
