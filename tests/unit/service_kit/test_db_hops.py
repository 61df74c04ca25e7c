"""The kit's database skips COMMIT and ROLLBACK when SQLite has no transaction open (each is a
hand-off to aiosqlite's thread), and still commits and rolls back every write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select

from service_kit.db import Database

metadata = MetaData()
things = Table("things", metadata, Column("id", String, primary_key=True))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}", metadata=[metadata], pool_size=3)
    await database.create_schema()
    yield database
    await database.dispose()


@pytest.fixture
def ends(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every COMMIT and ROLLBACK that reaches aiosqlite."""
    seen: list[str] = []
    commit, rollback = aiosqlite.Connection.commit, aiosqlite.Connection.rollback

    async def spy_commit(self: aiosqlite.Connection) -> None:
        seen.append("commit")
        await commit(self)

    async def spy_rollback(self: aiosqlite.Connection) -> None:
        seen.append("rollback")
        await rollback(self)

    monkeypatch.setattr(aiosqlite.Connection, "commit", spy_commit)
    monkeypatch.setattr(aiosqlite.Connection, "rollback", spy_rollback)
    return seen


async def test_a_read_only_unit_of_work_sends_no_commit_or_rollback(db: Database, ends: list[str]) -> None:
    async with db.transaction() as session:
        assert (await session.execute(select(things.c.id))).all() == []
    assert ends == []


async def test_a_write_is_committed_and_a_failed_one_rolled_back(db: Database, ends: list[str]) -> None:
    async with db.transaction() as session:
        await session.execute(insert(things).values(id="kept"))
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await session.execute(insert(things).values(id="half-written"))
            raise RuntimeError("crash mid-request")
    assert ends == ["commit", "rollback"]
    async with db.transaction() as session:
        assert (await session.execute(select(things.c.id))).scalars().all() == ["kept"]


async def test_the_pool_keeps_the_configured_number_of_connections(db: Database) -> None:
    assert db.engine.pool.size() == 3  # type: ignore[attr-defined]
