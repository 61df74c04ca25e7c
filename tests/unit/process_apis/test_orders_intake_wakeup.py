"""Intake tells the saga worker about a new order on the event loop's thread: the wakeup sets
asyncio futures, which is not thread-safe (a sync background task would run it in the threadpool)."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from tests.unit.process_apis.conftest import Orders


class _Recorder:
    def __init__(self) -> None:
        self.threads: list[int] = []

    def notify(self) -> None:
        self.threads.append(threading.get_ident())


async def test_a_new_order_wakes_the_worker_on_the_event_loop(orders: Orders, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _Recorder()
    monkeypatch.setattr(orders.app.state, "orders_wakeup", recorder, raising=False)

    resp = await orders.submit()

    assert resp.status_code == 202, resp.text
    assert recorder.threads == [threading.get_ident()]


async def test_a_replayed_order_does_not_wake_the_worker(orders: Orders, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (await orders.submit(key="k-1")).status_code == 202
    recorder = _Recorder()
    monkeypatch.setattr(orders.app.state, "orders_wakeup", recorder, raising=False)

    assert (await orders.submit(key="k-1")).status_code == 202

    assert recorder.threads == []


class _CommitChecker(_Recorder):
    """Also reads, from its own connection, whether the cancellation was committed when woken."""

    def __init__(self, db_file: Path, order_id: str) -> None:
        super().__init__()
        self.db_file = db_file
        self.order_id = order_id
        self.committed: list[bool] = []

    def notify(self) -> None:
        super().notify()
        with closing(sqlite3.connect(self.db_file)) as conn:
            row = conn.execute("SELECT cancel_requested_at FROM orders WHERE id = ?", (self.order_id,)).fetchone()
        self.committed.append(row is not None and row[0] is not None)


async def test_a_cancellation_wakes_the_worker_on_the_event_loop_once_committed(
    orders: Orders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    submitted = await orders.submit()
    assert submitted.status_code == 202, submitted.text
    order_id = submitted.json()["id"]
    checker = _CommitChecker(next(tmp_path.rglob("orders*.db")), order_id)
    monkeypatch.setattr(orders.app.state, "orders_wakeup", checker, raising=False)

    resp = await orders.cancel(order_id)

    assert resp.status_code == 202, resp.text
    assert checker.threads == [threading.get_ident()]
    assert checker.committed == [True]
