"""Run-once scheduled jobs (``service_kit.leases``, issue 9): three replicas of a job on one
database run it once per interval together, on SQLite and on PostgreSQL. Each replica is its own
``Database`` (its own engine and connections), as separate processes would be."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from service_kit.db import Database
from service_kit.leases import SlotClaims, run_scheduled

pytestmark = pytest.mark.xdist_group("postgres")

REPLICAS = 3


@pytest.fixture(params=["sqlite", "postgresql"])
async def databases(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[Database]]:
    """Three databases on one store (one per replica)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    replicas = [Database(url) for _ in range(REPLICAS)]
    await replicas[0].create_schema()
    yield replicas
    for db in replicas:
        await db.dispose()


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_three_replicas_over_n_intervals_claim_n_runs(databases: list[Database]) -> None:
    clock = FakeClock()
    claims = [SlotClaims(db, job="reconcile", every=60.0, clock=clock) for db in databases]
    won: list[int] = []
    for _ in range(5):  # five intervals; every replica tries each one, all at once
        got = await asyncio.gather(*(c.claim() for c in claims))
        won += [slot for slot in got if slot is not None]
        clock.now += 60.0
    assert len(won) == 5
    assert won == sorted(set(won))  # one per interval, each interval once


async def test_a_restarted_replica_does_not_run_its_slot_again_and_a_failed_run_gives_it_back(
    databases: list[Database],
) -> None:
    clock = FakeClock()
    first = SlotClaims(databases[0], job="prune", every=3600.0, clock=clock)
    slot = await first.claim()
    assert slot is not None
    restarted = SlotClaims(databases[1], job="prune", every=3600.0, clock=clock)
    assert await restarted.claim() is None
    other_job = SlotClaims(databases[1], job="reconcile", every=3600.0, clock=clock)
    assert await other_job.claim() == slot  # jobs have their own slots
    await first.give_back(slot)
    assert await restarted.claim() == slot


async def run_replicas(
    databases: list[Database], job: Callable[[int], object], *, every: float, runs: int, at_start: bool = True
) -> list[int]:
    """Three ``run_scheduled`` loops until the job has run ``runs`` times; which replica ran each."""
    stop, ran = asyncio.Event(), []

    def make(replica: int) -> Callable[[], object]:
        async def one_run() -> None:
            job(replica)
            ran.append(replica)
            if len(ran) >= runs:
                stop.set()

        return one_run

    loops = [
        run_scheduled(
            "job", make(i), db=db, every=every, stop_event=stop, at_start=at_start, error_backoff=(0.01, 0.01)
        )
        for i, db in enumerate(databases)
    ]
    await asyncio.wait_for(asyncio.gather(*loops), timeout=60)
    return ran


async def test_three_running_replicas_run_the_job_once_per_interval(databases: list[Database]) -> None:
    every = 0.4
    slots: list[int] = []
    clock = SlotClaims(databases[0], job="job", every=every)
    await run_replicas(databases, lambda _: slots.append(clock.slot()), every=every, runs=4)
    assert len(slots) == len(set(slots)) == 4  # never two runs in one interval
    assert slots == list(range(slots[0], slots[0] + 4))  # nor an interval without one


async def test_a_job_that_fails_is_run_again_in_the_same_interval(databases: list[Database]) -> None:
    failures = iter([True, True])

    def flaky(_: int) -> None:
        if next(failures, False):
            raise RuntimeError("the WMS did not answer")

    ran = await run_replicas(databases, flaky, every=3600.0, runs=1)
    assert len(ran) == 1  # the two failures gave the hour's slot back; the third try ran it
