"""Intake tells the saga worker about a new order on the event loop's thread: the wakeup sets
asyncio futures, which is not thread-safe (a sync background task would run it in the threadpool)."""

from __future__ import annotations

import threading

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
