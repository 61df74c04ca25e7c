"""The kit's aiosqlite cursor: one hand-off to the connection's thread per statement, and
everything SQLAlchemy reads from a cursor afterwards still right (rows, rowcount, lastrowid,
errors, executemany)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from service_kit.db import Database

metadata = MetaData()
notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String, unique=True),
    Column("text", String),
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}", metadata=[metadata])
    await database.create_schema()
    yield database
    await database.dispose()


async def test_a_read_is_one_hand_off_to_the_connections_thread(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    async with db.transaction() as session:
        await session.execute(insert(notes).values(key="a", text="first"))
    hand_offs: list[Any] = []
    queued = aiosqlite.Connection._execute

    async def spy(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        hand_offs.append(fn)
        return await queued(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", spy)
    async with db.transaction() as session:
        rows = (await session.execute(select(notes.c.key, notes.c.text))).all()

    assert [tuple(r) for r in rows] == [("a", "first")]
    assert len(hand_offs) == 1


async def test_rowcount_lastrowid_executemany_and_errors_are_sqlalchemys(db: Database) -> None:
    async with db.transaction() as session:
        first = await session.execute(insert(notes).values(key="a", text="one"))
        second = await session.execute(insert(notes).values(key="b", text="two"))
        assert first.inserted_primary_key == (1,) and second.inserted_primary_key == (2,)
        await session.execute(insert(notes), [{"key": f"k{n}", "text": "many"} for n in range(3)])
        changed = await session.execute(update(notes).where(notes.c.text == "many").values(text="changed"))
        assert changed.rowcount == 3  # type: ignore[attr-defined]
        nothing = await session.execute(select(notes.c.id).where(notes.c.key == "missing"))
        assert nothing.all() == []
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await session.execute(insert(notes).values(key="a", text="duplicate"))
    async with db.transaction() as session:
        texts = (await session.execute(select(notes.c.text).order_by(notes.c.id))).scalars().all()
    assert texts == ["one", "two", "changed", "changed", "changed"]
