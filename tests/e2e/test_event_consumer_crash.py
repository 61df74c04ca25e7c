"""A consumer process killed mid-message loses nothing and applies nothing twice.

A real consumer process (this file, run as a script) applies events into a SQLite ledger through
``service_kit.events.run_consumer``. It is SIGKILLed while it holds a batch: either inside a
handler (that message's transaction never commits; the rest of the batch is leased, some applied)
or after committing the batch but before acking it. A second consumer process then takes over
the expired leases. Every event must end up in the ledger exactly once. Runs on the embedded
SQLite log and on a real Redis server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Integer, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from contracts.events import CloudEvent
from service_kit.db import Database
from service_kit.events import Delivery, EventBus, open_bus, run_consumer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 30
GROUP = "ledger"
TYPE = "com.interchange.stock.moved.v1"


class LedgerBase(DeclarativeBase):
    pass


class Applied(LedgerBase):
    __tablename__ = "applied"  # no unique key: an event applied twice shows as two rows
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(128))
    n: Mapped[int] = mapped_column(Integer)
    pid: Mapped[int] = mapped_column(Integer)


# -- the consumer process --------------------------------------------------------------------


async def hang(marker: Path) -> None:
    marker.write_text(str(os.getpid()))
    await asyncio.sleep(3600)  # until SIGKILL


class HangOnAck:
    """The bus, except that acking the batch holding event ``n`` hangs (after its commit)."""

    def __init__(self, bus: EventBus, n: int, marker: Path) -> None:
        self.bus, self.n, self.marker = bus, n, marker

    def __getattr__(self, name: str) -> object:
        return getattr(self.bus, name)

    async def ack(self, *, deliveries: Sequence[Delivery]) -> None:
        if any(d.event.data["n"] == self.n for d in deliveries):
            await hang(self.marker)
        await self.bus.ack(deliveries=deliveries)


async def consume(*, url: str, ledger: Path, hang_at: int | None, phase: str, marker: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{ledger}", metadata=[LedgerBase.metadata])
    await db.create_schema()

    async def apply(*, session: AsyncSession, event: CloudEvent) -> None:
        session.add(Applied(event_id=event.id, n=event.data["n"], pid=os.getpid()))
        await session.flush()  # the row is written, uncommitted
        if phase == "handler" and event.data["n"] == hang_at:
            await hang(marker)

    bus: EventBus = open_bus(url=url)
    if phase == "ack" and hang_at is not None:
        bus = HangOnAck(bus, hang_at, marker)  # type: ignore[assignment]
    member = f"member-{os.getpid()}"
    await run_consumer(
        bus=bus, db=db, group=GROUP, consumer=member, handlers={TYPE: apply}, max_messages=5, wait_seconds=0.2
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--ledger", type=Path, required=True)
    parser.add_argument("--hang-at", type=int)
    parser.add_argument("--phase", choices=["handler", "ack"], default="handler")
    parser.add_argument("--marker", type=Path, default=Path(os.devnull))
    args = parser.parse_args()
    asyncio.run(consume(url=args.url, ledger=args.ledger, hang_at=args.hang_at, phase=args.phase, marker=args.marker))


# -- the test ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.support.redis_server import redis_server_url

    with redis_server_url(tmp_path_factory.mktemp("redis")) as url:
        yield url


def start_consumer(tmp_path: Path, url: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with (tmp_path / f"consumer-{uuid.uuid4().hex[:6]}.log").open("wb") as log:  # the child keeps its copy
        return subprocess.Popen(
            [sys.executable, __file__, "--url", url, "--ledger", str(tmp_path / "ledger.db"), *extra],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def ledger_rows(tmp_path: Path) -> list[tuple[str, int]]:
    path = tmp_path / "ledger.db"
    if not path.exists():
        return []
    with sqlite3.connect(path, timeout=30) as db:
        try:
            return db.execute("SELECT event_id, pid FROM applied ORDER BY id").fetchall()
        except sqlite3.OperationalError:  # table not created yet
            return []


def logs(tmp_path: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(tmp_path.glob("consumer-*.log")))


async def publish(url: str) -> list[str]:
    bus = open_bus(url=url)
    try:
        events = [CloudEvent(source="/tests", type=TYPE, subject=f"n/{n}", data={"n": n}) for n in range(EVENTS)]
        await bus.publish(events=events)
        return [e.id for e in events]
    finally:
        await bus.close()


async def pending(url: str) -> int:
    bus = open_bus(url=url)
    try:
        return await bus.pending(group=GROUP)
    finally:
        await bus.close()


@pytest.mark.parametrize("phase", ["handler", "ack"])
@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_consumer_killed_mid_message_loses_nothing_and_applies_nothing_twice(
    backend: str, phase: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'events.db'}?lease=1&poll=0.02"
    else:
        url = f"{request.getfixturevalue('redis_url')}?stream=crash:{uuid.uuid4().hex}&lease=1"
    ids = asyncio.run(publish(url))
    marker = tmp_path / "hung"
    first = start_consumer(tmp_path, url, "--hang-at", "12", "--phase", phase, "--marker", str(marker))
    replacement = None
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert first.poll() is None, f"the consumer exited early:\n{logs(tmp_path)}"
            assert time.monotonic() < deadline, f"the consumer never reached event 12:\n{logs(tmp_path)}"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        before = ledger_rows(tmp_path)
        assert len(before) < EVENTS, "the killed consumer should not have applied everything"

        replacement = start_consumer(tmp_path, url)
        deadline = time.monotonic() + 90
        while len({event_id for event_id, _ in ledger_rows(tmp_path)}) < EVENTS or asyncio.run(pending(url)):
            assert replacement.poll() is None, f"the replacement exited:\n{logs(tmp_path)}"
            assert time.monotonic() < deadline, f"not every event was applied:\n{logs(tmp_path)}"
            time.sleep(0.05)
    finally:
        for process in (first, replacement):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)

    rows = ledger_rows(tmp_path)
    assert sorted(event_id for event_id, _ in rows) == sorted(ids)  # every one, none twice
    assert {pid for _, pid in rows} == {first.pid, replacement.pid}  # both did part of the work
    assert rows[: len(before)] == before


if __name__ == "__main__":
    main()
