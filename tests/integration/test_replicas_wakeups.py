"""Wake-ups across replicas on PostgreSQL (issue 9): work committed by replica A wakes replica
B's idle worker at once (LISTEN/NOTIFY, ``service_kit.pg_watch``), not after B's poll interval;
a rolled-back transaction wakes nobody. Each replica is its own ``Database`` and worker, as two
processes would be; B's poll interval is an hour, so only a wake-up can run its next pass."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from process_apis.orders.flows.worker import install_worker_state
from service_kit.db import Database
from service_kit.pg_watch import PgNotifyProbe, notify_probe
from service_kit.workers import Wakeup, notify_after_commit, run_worker, wakeup_for

pytestmark = pytest.mark.xdist_group("postgres")

HOUR = 3600.0


class Replica:
    """A database and a worker on the ``saga`` topic that counts its passes."""

    def __init__(self, url: str, stop: asyncio.Event) -> None:
        self.db = Database(url)
        self.wakeup = wakeup_for(db=self.db, topic="saga", across_replicas=True)
        self.passes = 0
        self.passed = asyncio.Event()
        self.stop = stop

    async def unit(self) -> int:
        self.passes += 1
        self.passed.set()
        return 0

    def start(self) -> asyncio.Task[None]:
        return asyncio.create_task(
            run_worker("saga", self.unit, wakeup=self.wakeup, stop_event=self.stop, idle_backoff=(HOUR, HOUR))
        )

    async def idle_and_listening(self) -> None:
        probe = self.wakeup.probe
        assert isinstance(probe, PgNotifyProbe)
        await probe.listening.wait()  # (which wakes the worker once: what nobody heard meanwhile)
        for _ in range(3):
            await asyncio.sleep(0)  # let that pass run
        while not self.wakeup.waiting:  # its passes done, waiting for a wake-up
            await asyncio.sleep(0.01)

    async def commit_work(self, *, rollback: bool = False) -> None:
        async with self.db.sessions() as session:
            await session.execute(text("SELECT 1"))
            notify_after_commit(session=session, topic="saga")
            await (session.rollback() if rollback else session.commit())

    async def next_pass(self, after: int) -> None:
        while self.passes <= after:
            self.passed.clear()
            await self.passed.wait()


@pytest.fixture
async def replicas(postgres_url: str) -> AsyncIterator[tuple[Replica, Replica]]:
    stop = asyncio.Event()
    a, b = Replica(postgres_url, stop), Replica(postgres_url, stop)
    tasks = [a.start(), b.start()]
    async with asyncio.timeout(30):
        await a.idle_and_listening()
        await b.idle_and_listening()
    yield a, b
    stop.set()
    await asyncio.gather(*tasks)
    for replica in (a, b):
        replica.wakeup.close()
        await replica.db.dispose()


async def test_work_committed_in_one_replica_wakes_the_idle_worker_of_the_other(
    replicas: tuple[Replica, Replica],
) -> None:
    a, b = replicas
    before = b.passes
    await a.commit_work(rollback=True)  # nothing staged: nobody is told
    await a.commit_work()
    async with asyncio.timeout(20):  # an hour without the wake-up
        await b.next_pass(before)
    assert b.passes == before + 1  # one wake-up for the commit, none for the rollback


def test_only_postgresql_gets_a_probe_and_the_orders_worker_uses_it() -> None:
    assert notify_probe(url="sqlite+aiosqlite:///var/orders.db", topic="orders_saga") is None
    probe = notify_probe(url="postgresql+asyncpg://u:secret@db:5432/orders", topic="orders_saga")
    assert probe is not None and probe.channel == "interchange_orders_saga"

    class App:
        class state:
            class settings:
                database_url = "postgresql+asyncpg://u@db/orders"

    install_worker_state(App)  # type: ignore[arg-type]
    assert isinstance(App.state.orders_wakeup, Wakeup)  # type: ignore[attr-defined]
    assert isinstance(App.state.orders_wakeup.probe, PgNotifyProbe)  # type: ignore[attr-defined]
