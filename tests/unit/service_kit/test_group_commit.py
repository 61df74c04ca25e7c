"""service_kit.group_commit on its own (the intake writers' tests cover batching and the fallback
through their subclasses): a write whose request went away still commits with its batch, and a
database failure that is not a conflict is told to every write of the batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from service_kit.group_commit import GroupCommit


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (v TEXT PRIMARY KEY)"))
    yield engine
    await engine.dispose()


async def insert(conn: AsyncConnection, batch: Sequence[str]) -> None:
    await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": v} for v in batch])


async def alone() -> str:
    raise AssertionError("only a conflict makes a write on its own")


async def stored(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT v FROM t ORDER BY v"))).scalars())


async def test_a_write_whose_request_went_away_commits_with_its_batch(engine: AsyncEngine) -> None:
    writer: GroupCommit[str, str] = GroupCommit(engine, commit=insert, name="test-writer")
    gone = asyncio.create_task(writer.write("a", written="a", one=alone))
    stays = asyncio.create_task(writer.write("b", written="b", one=alone))
    await asyncio.sleep(0)  # both queued, the writer's task started
    gone.cancel()

    assert await stays == "b"
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert await stored(engine) == ["a", "b"]


async def test_a_database_failure_is_told_to_every_write_of_the_batch(engine: AsyncEngine) -> None:
    async def broken(conn: AsyncConnection, batch: Sequence[str]) -> None:
        await conn.execute(text("INSERT INTO no_such_table (v) VALUES (:v)"), [{"v": v} for v in batch])

    writer: GroupCommit[str, str] = GroupCommit(engine, commit=broken, name="test-writer")
    answers = await asyncio.gather(*(writer.write(v, written=v, one=alone) for v in ("a", "b")), return_exceptions=True)

    assert [type(a).__name__ for a in answers] == ["OperationalError", "OperationalError"]
    assert await stored(engine) == []
