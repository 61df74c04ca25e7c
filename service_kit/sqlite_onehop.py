"""SQLAlchemy's aiosqlite driver with one thread hand-off per statement instead of four.

aiosqlite runs each sqlite3 call in the connection's own thread: SQLAlchemy's adapter makes a
cursor, executes, fetches and closes it, four round trips through that thread's queue and back
to the event loop (~70 µs of CPU each here) for a statement SQLite answers in a few µs. This
cursor does all four in the thread in one go, then hands SQLAlchemy the rows, description,
rowcount and lastrowid it reads afterwards.

Hand-written because neither aiosqlite nor SQLAlchemy offers it; it replaces only the cursor of
a regular ``sqlite+aiosqlite`` engine (``Database`` passes ``dbapi()`` as the engine's
``module``), so the dialect, pool, transactions and errors stay SQLAlchemy's own. Server-side
cursors (``stream_results``) keep SQLAlchemy's cursor.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

_Outcome = tuple[Any, list[Any] | None, int, int | None]


class _Ran:
    """What the cursor left behind: read by SQLAlchemy after ``execute``."""

    __slots__ = ("description", "lastrowid", "rowcount")

    def __init__(self, description: Any, rowcount: int, lastrowid: int | None) -> None:
        self.description = description
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def close(self) -> None:
        """Nothing to close: the sqlite3 cursor was closed in the connection's thread."""


_NOT_RUN = _Ran(None, -1, None)


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else None
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    _awaitable_cursor_close = False  # nothing left open to close asynchronously

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = _NOT_RUN  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()

    async def _run_async(self, operation: Any, parameters: Any, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            description, rows, rowcount, lastrowid = await connection._execute(
                _run, connection._conn, operation, parameters, many
            )
        self._cursor = _Ran(description, rowcount, lastrowid)  # type: ignore[assignment]
        self._rows = collections.deque(rows or ())

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._run_async(operation, parameters, False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            return await_(self._run_async(operation, seq_of_parameters, True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor  # type: ignore[assignment]


class OneHopDbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)


def dbapi() -> OneHopDbapi:
    """The DBAPI module to give ``create_async_engine(..., module=dbapi())`` for aiosqlite URLs."""
    return OneHopDbapi(aiosqlite, sqlite3)


__all__ = ["OneHopCursor", "dbapi"]
