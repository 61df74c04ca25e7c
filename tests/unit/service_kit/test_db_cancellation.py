"""Workers are stopped between two transactions, never inside one.

Cancelling a task in the middle of an aiosqlite query made SQLAlchemy terminate the connection,
and with aiosqlite 0.22 that could leave a close awaiting a thread that had already exited: the
event loop never closed (a CI run hung on it), and with 0.21 the cancelled transaction kept the
write lock. The worker runtime (``service_kit.workers``) stops a worker cooperatively, after the
unit of work it is in; a plain loop is cancelled by ``Database.stop_task`` only while it holds no
connection. With a plain ``task.cancel()`` instead of ``stop_workers`` the first test hangs or
finds the lock held.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from service_kit.db import Database
from service_kit.workers import AppWorker, Wakeup, run_worker, start_workers, stop_event, stop_workers

ROUNDS = 60
WORKERS = 3


def _busy(db: Database, committed: list[int], slot: int) -> AppWorker:
    async def one_transaction() -> int:
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO ticks (worker) VALUES (:w)"), {"w": slot})
            await session.execute(text("SELECT COUNT(*) FROM ticks"))
            committed[slot] += 1  # no await between this and the commit that follows
        return 1  # always more to do: the worker never idles

    async def worker(app: FastAPI) -> None:
        await run_worker(f"busy-{slot}", one_transaction, wakeup=Wakeup(), stop_event=stop_event(app))

    return worker


async def _round(path: Path, pause: float) -> list[int]:
    db = Database(f"sqlite+aiosqlite:///{path}")
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS ticks (worker INTEGER)"))
    committed = [0] * WORKERS
    app = FastAPI()
    workers = start_workers(app, [_busy(db, committed, n) for n in range(WORKERS)])
    await asyncio.sleep(pause)
    await stop_workers(app, workers, db=db, grace=5.0)
    assert all(task.done() and not task.cancelled() for task in workers)  # each returned by itself
    await db.dispose()
    return committed


@pytest.mark.timeout(120)
def test_stopped_workers_leave_whole_transactions_and_a_loop_that_closes(tmp_path: Path) -> None:
    pauses = random.Random(7)  # timing jitter for the rounds, seeded
    for n in range(ROUNDS):
        path = tmp_path / f"round-{n}.db"
        with asyncio.Runner() as runner:  # closing it cancels and awaits every task still left
            committed = runner.run(_round(path, pauses.random() * 0.03))
        with sqlite3.connect(path, timeout=0) as conn:
            conn.execute("BEGIN IMMEDIATE")  # no connection left holding the write lock
            rows = dict(conn.execute("SELECT worker, COUNT(*) FROM ticks GROUP BY worker").fetchall())
            conn.rollback()
        # Every transaction a worker finished is there, and nothing of one it did not finish.
        assert [rows.get(slot, 0) for slot in range(WORKERS)] == committed, f"round {n}"


async def test_a_task_that_holds_no_connection_is_cancelled_at_once(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'idle.db'}")
    idle = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    assert not db.holds_connection(idle)
    await db.stop_task(idle, grace=3600)
    assert idle.cancelled()
    await db.dispose()


async def test_a_task_inside_a_transaction_is_tracked_until_it_commits(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'held.db'}")
    inside, release = asyncio.Event(), asyncio.Event()

    async def unit_of_work() -> None:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))
            inside.set()
            await release.wait()

    task = asyncio.create_task(unit_of_work())
    await inside.wait()
    assert db.holds_connection(task)
    stopping = asyncio.create_task(db.stop_task(task, grace=3600))
    await asyncio.sleep(0.05)
    assert not stopping.done()  # it waits for the transaction rather than cancel inside it
    release.set()
    await stopping
    assert task.done() and not db.holds_connection(task)
    await db.dispose()


async def test_a_connection_closed_by_async_with_is_released_for_its_task(tmp_path: Path) -> None:
    # SQLAlchemy closes what ``async with`` opened in a task of its own: the release still counts
    # for the task that took the connection.
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'core.db'}")

    async def core_unit() -> asyncio.Task[object] | None:
        async with db.engine.begin() as conn:
            await conn.execute(text("SELECT 1"))
            assert db.holds_connection(asyncio.current_task())  # type: ignore[arg-type]
        return asyncio.current_task()

    task = asyncio.create_task(core_unit())
    owner = await task
    assert owner is task and not db.holds_connection(task)
    await db.dispose()
