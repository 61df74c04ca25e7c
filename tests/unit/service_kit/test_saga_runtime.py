"""The kit's saga runtime (``service_kit.saga``) on a toy table: claims with leases never hand one
row to two workers and come back after a crash, the retry policy backs off then parks, a parked
row replays from the step that failed, and a pass runs its rows concurrently."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import DateTime, String, Table, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from service_kit.db import Database
from service_kit.saga import exceptions
from service_kit.saga.claims import claim_due, release_claims
from service_kit.saga.passes import PassSignal, SagaPass
from service_kit.saga.retry import RetryPolicy, count_failure, schedule_retry


class _Base(DeclarativeBase):
    pass


class Job(exceptions.SagaColumns, _Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


JOBS = cast(Table, Job.__table__)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def _db(tmp_path: Path, n: int) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'saga.db'}", metadata=[_Base.metadata])
    await db.create_schema()
    async with db.transaction() as session:
        for i in range(n):
            session.add(Job(id=f"j{i}", created_at=T0 + timedelta(seconds=i), saga_step="first", saga_active=True))
    return db


async def test_two_workers_never_claim_the_same_row_and_a_restart_takes_its_own_back(tmp_path: Path) -> None:
    db = await _db(tmp_path, 3)
    lease = T0 + timedelta(minutes=1)
    async with db.engine.begin() as conn:
        first = await claim_due(conn, table=JOBS, now=T0, lease_until=lease, worker_id="a", limit=2)
        second = await claim_due(conn, table=JOBS, now=T0, lease_until=lease, worker_id="b", limit=5)
        none_left = await claim_due(conn, table=JOBS, now=T0, lease_until=lease, worker_id="c", limit=5)
    assert (first, second, none_left) == (["j0", "j1"], ["j2"], [])
    async with db.engine.begin() as conn:
        assert await release_claims(conn, table=JOBS, worker_id="a") == 2
        again = await claim_due(conn, table=JOBS, now=T0, lease_until=lease, worker_id="c", limit=5)
    assert again == ["j0", "j1"]  # due at once, not after the lease
    await db.dispose()


async def test_failures_back_off_with_jitter_then_park_and_a_replay_starts_from_the_failed_step(
    tmp_path: Path,
) -> None:
    policy = RetryPolicy(initial=10, maximum=25, max_attempts=3)
    assert [policy.delay(n) >= timedelta(seconds=b / 2) for n, b in ((1, 10), (2, 20), (3, 25))] == [True] * 3
    assert policy.delay(9) <= timedelta(seconds=25)
    row = Job(id="x", created_at=T0, saga_step="invoice", saga_active=True, attempts=0, claimed_by="w")
    assert count_failure(row, error="erp down", policy=policy) is False
    schedule_retry(row, now=T0, policy=policy)
    assert row.next_attempt_at is not None and row.next_attempt_at >= T0 + timedelta(seconds=5)
    assert row.claimed_by is None
    count_failure(row, error="erp down", policy=policy)
    assert count_failure(row, error="erp still down", policy=policy) is True
    exceptions.park(row, step="invoice", error="erp still down", at=T0)
    assert exceptions.is_parked(row) and not row.saga_active and row.last_error == "erp still down"
    row.saga_step = "done-by-mistake"
    assert exceptions.reopen(row) == "invoice"
    assert (row.saga_step, row.saga_active, row.attempts, row.failed_step) == ("invoice", True, 0, None)
    assert not exceptions.is_parked(row)


async def test_a_pass_runs_its_rows_concurrently_and_counts_those_that_stopped(tmp_path: Path) -> None:
    db = await _db(tmp_path, 5)
    running, peak = 0, 0
    gate = asyncio.Event()

    async def claim(limit: int, skip: object) -> list[tuple[str, None]]:
        async with db.engine.begin() as conn:
            ids = await claim_due(
                conn, table=JOBS, now=T0, lease_until=T0 + timedelta(minutes=1), worker_id="w", limit=limit
            )
        return [(i, None) for i in ids]

    async def advance(row_id: str, _: None) -> bool:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if peak == 2:
            gate.set()
        await gate.wait()
        running -= 1
        async with db.transaction() as session:
            job = await session.get(Job, row_id)
            assert job is not None
            exceptions.stop(job)
        return row_id != "j4"  # one waits for a retry

    result = await SagaPass(
        claim=claim,
        advance=advance,
        concurrency=2,
        batch_size=50,
        poll=0.05,
        stopping=asyncio.Event(),
        in_flight=set(),
        signal=PassSignal(),
    ).run()
    assert (result.claimed, result.stopped, peak) == (5, 4, 2)
    async with db.transaction() as session:
        assert list(await session.scalars(select(Job.id).where(Job.saga_active.is_(True)))) == []
    await db.dispose()
