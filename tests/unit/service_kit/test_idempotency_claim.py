"""The kit's idempotency claim on a real SQLite file: a new key is claimed with one statement, a
key already there is read back (replay, another body, still in flight), an expired marker is taken
over by one retry only, and an abandoned key is free again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update

from service_kit.db import Database
from service_kit.errors import Conflict, UnprocessableContent
from service_kit.idempotency import Idempotency, IdempotencyRecord, StoredResponse, find


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}")
    await database.create_schema()
    yield database
    await database.dispose()


@pytest.fixture
def statements(db: Database) -> list[str]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    return seen


def key(db: Database, fingerprint: str = "body-1", name: str = "k-1") -> Idempotency:
    return Idempotency(db, scope="client-a", key=name, fingerprint=fingerprint)


async def answer(db: Database, idem: Idempotency, body: Any) -> None:
    async with db.transaction() as session:
        await idem.finish(session, status_code=202, body=body)


async def test_a_new_key_is_claimed_with_one_insert(db: Database, statements: list[str]) -> None:
    assert await key(db).start() is None

    assert statements == ["INSERT"]
    record = await find(db, scope="client-a", key="k-1")
    assert record is not None
    assert (record.state, record.fingerprint) == ("in_flight", "body-1")


async def test_the_same_key_and_body_replay_the_answer_another_body_is_a_422(db: Database) -> None:
    first = key(db)
    await first.start()
    await answer(db, first, {"id": "ord_1"})

    assert await key(db).start() == StoredResponse(202, {"id": "ord_1"})
    with pytest.raises(UnprocessableContent):
        await key(db, fingerprint="body-2").start()


async def test_a_key_in_flight_is_a_409_with_retry_after(db: Database) -> None:
    await key(db).start()

    with pytest.raises(Conflict) as refused:
        await key(db).start()

    assert refused.value.headers == {"Retry-After": "1"}


async def test_an_expired_marker_is_taken_over_by_one_retry_only(db: Database) -> None:
    await key(db).start()
    async with db.transaction() as session:
        await session.execute(update(IdempotencyRecord).values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))

    assert await key(db).start() is None  # the first retry takes the key over
    with pytest.raises(Conflict):
        await key(db).start()  # the next one finds it in flight again


async def test_an_abandoned_key_can_be_claimed_again(db: Database) -> None:
    first = key(db)
    await first.start()
    await first.abandon()

    assert await find(db, scope="client-a", key="k-1") is None
    assert await key(db).start() is None
