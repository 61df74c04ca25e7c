"""Workers are stopped between two transactions, never inside one.

Cancelling a task in the middle of an aiosqlite query made SQLAlchemy terminate the connection,
and with aiosqlite 0.22 that could leave a close awaiting a thread that had already exited: the
event loop never closed (a CI run hung on it), and with 0.21 the cancelled transaction kept the
write lock. The worker runtime (``service_kit.workers``) stops a worker cooperatively, after the
unit of work it is in. With a plain ``task.cancel()`` instead of ``stop_workers`` the test hangs or
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


def _busy(db: Database, committed: list[int], cut_short: list[int], slot: int) -> AppWorker:
    async def one_transaction() -> int:
        try:
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO ticks (worker) VALUES (:w)"), {"w": slot})
                await session.execute(text("SELECT COUNT(*) FROM ticks"))
                committed[slot] += 1  # no await between this and the commit that follows
        except asyncio.CancelledError:
            cut_short.append(slot)  # a stop landed inside the transaction
            raise
        return 1  # always more to do: the worker never idles

    async def worker(app: FastAPI) -> None:
        await run_worker(f"busy-{slot}", one_transaction, wakeup=Wakeup(), stop_event=stop_event(app))

    return worker


async def _round(path: Path, pause: float) -> list[int]:
    db = Database(f"sqlite+aiosqlite:///{path}")
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS ticks (worker INTEGER)"))
    committed, cut_short = [0] * WORKERS, list[int]()
    app = FastAPI()
    workers = start_workers(app, [_busy(db, committed, cut_short, n) for n in range(WORKERS)])
    await asyncio.sleep(pause)
    await stop_workers(app, workers, grace=5.0)
    assert cut_short == []  # no stop landed inside a unit's transaction
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
