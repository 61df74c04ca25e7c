"""The kit's database pieces on PostgreSQL, the scaled database (issue 9): the schema is created, a
failed unit of work leaves nothing, and the idempotency claim (``INSERT ... ON CONFLICT DO
NOTHING`` and its row count) behaves as on SQLite, concurrent claims of one key included.

Runs on a throwaway server (tests/support/postgres.py); skips locally without PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from service_kit.db import Database
from service_kit.errors import Conflict, UnprocessableContent
from service_kit.idempotency import Idempotency, IdempotencyRecord, StoredResponse, find

pytestmark = pytest.mark.xdist_group("postgres")


@pytest.fixture
async def db(postgres_url: str) -> AsyncIterator[Database]:
    database = Database(postgres_url, pool_size=8)
    await database.create_schema()
    yield database
    await database.dispose()


def key(db: Database, fingerprint: str = "body-1", name: str = "k-1") -> Idempotency:
    return Idempotency(db, scope="client-a", key=name, fingerprint=fingerprint)


async def count(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(IdempotencyRecord))).scalar_one())


async def test_the_schema_is_created_and_the_database_answers(db: Database) -> None:
    assert db.engine.dialect.name == "postgresql"
    assert await db.ping()
    assert await count(db) == 0


async def test_a_failed_unit_of_work_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            session.add(
                IdempotencyRecord(
                    scope="s",
                    key="k",
                    fingerprint="f",
                    state="in_flight",
                    locked_until=datetime.now(UTC),
                    created_at=datetime.now(UTC),
                )
            )
            await session.flush()
            raise RuntimeError("the request failed after its first write")

    assert await count(db) == 0


async def test_a_key_is_claimed_replayed_and_refused_for_another_body(db: Database) -> None:
    first = key(db)
    assert await first.start() is None
    with pytest.raises(Conflict):
        await key(db).start()  # still in flight
    async with db.transaction() as session:
        await first.finish(session, status_code=202, body={"id": "ord_1"})

    assert await key(db).start() == StoredResponse(202, {"id": "ord_1"})
    with pytest.raises(UnprocessableContent):
        await key(db, fingerprint="body-2").start()


async def test_concurrent_claims_of_one_key_claim_it_once(db: Database) -> None:
    outcomes = await asyncio.gather(*(key(db).start() for _ in range(8)), return_exceptions=True)

    claimed = [o for o in outcomes if o is None]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert (len(claimed), len(refused)) == (1, 7)
    assert await count(db) == 1


async def test_an_expired_claim_is_taken_over_once_and_an_abandoned_key_is_free(db: Database) -> None:
    await key(db).start()
    async with db.transaction() as session:
        await session.execute(update(IdempotencyRecord).values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))

    outcomes = await asyncio.gather(key(db).start(), key(db).start(), return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "NoneType"]

    retry = key(db, name="k-2")
    await retry.start()
    await retry.abandon()
    assert await find(db, scope="client-a", key="k-2") is None
