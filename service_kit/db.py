"""One async database per service: SQLite file by default, any SQLAlchemy URL by setting.

The request (or the worker) owns the transaction: ``SessionDep`` yields a session that commits
when the endpoint returns and rolls back when it raises, so a failed request leaves nothing
half-written. Services and repositories never commit on their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase


class KitBase(DeclarativeBase):
    """Tables the kit itself keeps in every service's database (idempotency keys)."""


class Database:
    def __init__(self, url: str, *, metadata: Sequence[MetaData] = (), echo: bool = False) -> None:
        self.url = make_url(url)
        self.metadata = [KitBase.metadata, *metadata]
        kwargs: dict[str, Any] = {"echo": echo}
        if self.url.get_backend_name() == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.url.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def create_schema(self) -> None:
        # Tables are created from the models; versioned migrations come with the first change to
        # a published table (tracked in the README's roadmap).
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


def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    db: Database = request.app.state.db
    async with db.sessions() as session, session.begin():
        yield session


# scope="function": the commit runs when the endpoint returns, before the response is sent,
# so a client never sees a 2xx for a write that then failed to commit.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]

__all__ = ["Database", "KitBase", "SessionDep"]
