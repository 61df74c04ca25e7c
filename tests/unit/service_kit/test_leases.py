"""Run-once scheduled jobs (``service_kit.leases``, issue 9): three replicas of a job on one
database run it once per interval together, on SQLite and on PostgreSQL. Each replica is its own
``Database`` (its own engine and connections), as separate processes would be."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
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


class SteppedClock:
    """A wall clock the test moves one interval at a time (the replicas' waits are short real
    seconds: ``every`` is small), and a record of every claim the replicas attempt."""

    def __init__(self, *, every: float) -> None:
        self.every = every
        self.now = 1_000_000 * every + every / 2  # in the middle of an interval
        self.attempts: list[tuple[int, int]] = []  # (replica's claims object, slot)
        self.changed = asyncio.Event()

    def __call__(self) -> float:
        return self.now

    def slot(self) -> int:
        return int(self.now // self.every)

    def count_attempts(self, monkeypatch: pytest.MonkeyPatch) -> None:
        claim = SlotClaims.claim

        async def counted(claims: SlotClaims) -> int | None:
            got = await claim(claims)
            self.attempts.append((id(claims), self.slot()))
            self.changed.set()
            return got

        monkeypatch.setattr(SlotClaims, "claim", counted)

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(60):
            while not done():
                self.changed.clear()
                await self.changed.wait()

    async def step_through(self, intervals: int, *, replicas: int, runs: Callable[[], int], first: int = 1) -> None:
        """For each interval: wait until the job ran once more and every replica has tried to claim
        this interval since (so a second run would have happened), then move to the next one."""
        for n in range(intervals):
            slot = self.slot()
            await self.until(lambda n=n: runs() >= n + first)
            seen = len(self.attempts)
            await self.until(
                lambda seen=seen, slot=slot: len({r for r, s in self.attempts[seen:] if s == slot}) >= replicas
            )
            self.now += self.every
            self.changed.set()


async def run_replicas(
    databases: list[Database],
    job: Callable[[int], object],
    *,
    clock: SteppedClock,
    intervals: int,
    monkeypatch: pytest.MonkeyPatch,
) -> list[tuple[int, int]]:
    """Three ``run_scheduled`` loops for ``intervals`` intervals: (replica, slot) of every run."""
    stop, ran = asyncio.Event(), []
    clock.count_attempts(monkeypatch)

    def make(replica: int) -> Callable[[], Awaitable[None]]:
        async def one_run() -> None:
            job(replica)
            ran.append((replica, clock.slot()))
            clock.changed.set()

        return one_run

    loops = [
        run_scheduled(
            "job", make(i), db=db, every=clock.every, stop_event=stop, error_backoff=(0.01, 0.01), clock=clock
        )
        for i, db in enumerate(databases)
    ]
    tasks = [asyncio.ensure_future(loop) for loop in loops]
    try:
        await clock.step_through(intervals, replicas=len(databases), runs=lambda: len(ran))
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    return ran


async def test_three_running_replicas_run_the_job_once_per_interval(
    databases: list[Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SteppedClock(every=0.05)
    first = clock.slot()
    ran = await run_replicas(databases, lambda _: None, clock=clock, intervals=4, monkeypatch=monkeypatch)
    assert [slot for _, slot in ran] == [first, first + 1, first + 2, first + 3]  # N intervals, N runs
    assert len(clock.attempts) >= 4 * REPLICAS  # while every replica tried every interval


async def test_a_job_that_fails_is_run_again_in_the_same_interval(
    databases: list[Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = iter([True, True])

    def flaky(_: int) -> None:
        if next(failures, False):
            raise RuntimeError("the WMS did not answer")

    clock = SteppedClock(every=0.05)
    first = clock.slot()
    ran = await run_replicas(databases, flaky, clock=clock, intervals=1, monkeypatch=monkeypatch)
    assert [slot for _, slot in ran] == [first]  # the two failures gave the slot back; a third try ran it
