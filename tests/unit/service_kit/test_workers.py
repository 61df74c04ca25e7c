"""The worker runtime (``service_kit.workers``): wake on work, back off when idle, stop between units."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from fastapi import FastAPI

from service_kit.workers import (
    DataVersionProbe,
    Mark,
    Wakeup,
    run_worker,
    start_workers,
    stop_event,
    stop_workers,
)


class Passes:
    """A unit that returns the scripted counts (then 0) and says when each pass ran."""

    def __init__(self, *counts: int) -> None:
        self.counts = list(counts)
        self.calls = 0
        self.ran = asyncio.Event()

    async def __call__(self) -> int:
        self.calls += 1
        self.ran.set()
        return self.counts.pop(0) if self.counts else 0

    async def next_pass(self) -> int:
        self.ran.clear()
        await self.ran.wait()
        return self.calls


class RecordingWakeup(Wakeup):
    """Never woken: records how long each idle wait would have been."""

    def __init__(self, stop: asyncio.Event, after: int) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.stop, self.after = stop, after

    async def wait(self, *, since: Mark, seconds: float) -> bool:
        self.waits.append(seconds)
        if len(self.waits) == self.after:
            self.stop.set()
        return False


async def test_runs_again_at_once_while_it_finds_work_then_backs_off_doubling_to_the_max() -> None:
    stop = asyncio.Event()
    wakeup = RecordingWakeup(stop, after=5)
    unit = Passes(3, 2)
    await run_worker("w", unit, wakeup=wakeup, stop_event=stop, idle_backoff=(1.0, 4.0))
    # Two passes with work and no wait between them, then idle waits 1, 2, 4, 4, 4.
    assert unit.calls == 2 + 5
    assert wakeup.waits == [1.0, 2.0, 4.0, 4.0, 4.0]


async def test_notify_wakes_an_idle_worker_at_once() -> None:
    stop, wakeup, unit = asyncio.Event(), Wakeup(), Passes()
    worker = asyncio.create_task(run_worker("w", unit, wakeup=wakeup, stop_event=stop, idle_backoff=(3600, 3600)))
    await unit.next_pass()
    waiting = asyncio.create_task(unit.next_pass())
    await asyncio.sleep(0)
    wakeup.notify()
    assert await waiting == 2
    stop.set()
    await worker


async def test_a_notification_during_a_unit_is_not_lost() -> None:
    stop, wakeup = asyncio.Event(), Wakeup()
    calls: list[int] = []
    second = asyncio.Event()

    async def unit() -> int:
        calls.append(1)
        if len(calls) == 1:
            wakeup.notify()  # work arrives while this pass (which did not see it) runs
        else:
            second.set()
        return 0

    worker = asyncio.create_task(run_worker("w", unit, wakeup=wakeup, stop_event=stop, idle_backoff=(3600, 3600)))
    await second.wait()
    assert len(calls) == 2
    stop.set()
    await worker


async def test_a_commit_by_another_connection_wakes_a_worker_through_data_version(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (x INTEGER)")
    stop, wakeup = asyncio.Event(), Wakeup(probe=DataVersionProbe(path, interval=0.01))
    unit = Passes()
    worker = asyncio.create_task(run_worker("w", unit, wakeup=wakeup, stop_event=stop, idle_backoff=(3600, 3600)))
    await unit.next_pass()
    waiting = asyncio.create_task(unit.next_pass())
    await asyncio.sleep(0)
    other.execute("INSERT INTO t VALUES (1)")  # another process appending
    assert await waiting == 2
    stop.set()
    await worker
    wakeup.close()
    other.close()


async def test_a_failing_unit_is_logged_and_retried() -> None:
    stop, wakeup = asyncio.Event(), Wakeup()
    calls: list[int] = []

    async def unit() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("database is locked")
        stop.set()
        return 1

    await run_worker("w", unit, wakeup=wakeup, stop_event=stop, idle_backoff=(0.001, 0.002))
    assert len(calls) == 3


async def test_stop_lets_the_current_unit_finish_and_runs_no_other() -> None:
    stop, wakeup = asyncio.Event(), Wakeup()
    inside, release = asyncio.Event(), asyncio.Event()
    finished: list[int] = []

    async def unit() -> int:
        inside.set()
        await release.wait()
        finished.append(1)
        return 1  # found work: without the stop it would run again at once

    worker = asyncio.create_task(run_worker("w", unit, wakeup=wakeup, stop_event=stop))
    await inside.wait()
    stop.set()
    await asyncio.sleep(0)
    assert not worker.done()  # not cancelled: it waits for the unit
    release.set()
    await worker
    assert finished == [1]


async def test_stop_workers_stops_runtime_workers_without_a_cancel() -> None:
    app = FastAPI()
    units = Passes()

    async def runtime_worker(app: FastAPI) -> None:
        await run_worker("runtime", units, wakeup=Wakeup(), stop_event=stop_event(app), idle_backoff=(3600, 3600))

    [task] = start_workers(app, [runtime_worker])
    await units.next_pass()
    await stop_workers(app, [task], grace=3600)
    assert task.done() and not task.cancelled()  # returned by itself


class RecordingLog:
    """Stands in for the module's logger: ``capture_logs`` sees nothing once another test in the same
    process has configured structlog with cached loggers (``configure_logging``), so record directly."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, object]]] = []

    def __getattr__(self, level: str) -> object:
        def record(event: str, **fields: object) -> None:
            self.lines.append((level, event, fields))

        return record


async def test_a_worker_not_on_the_runtime_is_cancelled_after_the_grace_and_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import service_kit.workers

    app = FastAPI()
    recorded = RecordingLog()
    monkeypatch.setattr(service_kit.workers, "log", recorded)

    async def plain_loop(app: FastAPI) -> None:
        await asyncio.sleep(3600)

    [task] = start_workers(app, [plain_loop])
    await stop_workers(app, [task], grace=0.01)
    assert task.cancelled()  # it never looks at the stop event: cancelled after the grace
    assert [(event, fields["worker"]) for level, event, fields in recorded.lines if level == "error"] == [
        ("worker_not_on_runtime", "plain_loop")
    ]


@pytest.mark.parametrize("backoff", [(0, 1), (2, 1)])
async def test_idle_backoff_must_be_positive_and_ordered(backoff: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="idle_backoff"):
        await run_worker("w", Passes(), wakeup=Wakeup(), stop_event=asyncio.Event(), idle_backoff=backoff)


async def test_a_worker_that_gathers_runtime_loops_is_stopped_without_a_cancel() -> None:
    app = FastAPI()
    first, second = Passes(), Passes()

    async def two_loops(app: FastAPI) -> None:
        stop = stop_event(app)
        await asyncio.gather(
            run_worker("first", first, wakeup=Wakeup(), stop_event=stop, idle_backoff=(3600, 3600)),
            run_worker("second", second, wakeup=Wakeup(), stop_event=stop, idle_backoff=(3600, 3600)),
        )

    [task] = start_workers(app, [two_loops])
    await first.next_pass()
    await stop_workers(app, [task], grace=3600)
    assert task.done() and not task.cancelled()


async def test_workers_watching_one_file_share_one_watcher_that_stops_with_the_last(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (x INTEGER)")
    stop = asyncio.Event()
    wakeups = [Wakeup(probe=DataVersionProbe(path, interval=0.01)) for _ in range(2)]
    units = [Passes(), Passes()]
    first_passes = [asyncio.create_task(unit.next_pass()) for unit in units]  # they run before the workers
    workers = [
        asyncio.create_task(
            run_worker(f"w{n}", units[n], wakeup=wakeups[n], stop_event=stop, idle_backoff=(3600, 3600))
        )
        for n in range(2)
    ]
    await asyncio.gather(*first_passes)
    watchers = [t for t in asyncio.all_tasks() if t.get_name() == "watch log.db"]
    assert len(watchers) == 1  # one look per interval for the process, however many workers
    waiting = [asyncio.create_task(unit.next_pass()) for unit in units]
    await asyncio.sleep(0)
    other.execute("INSERT INTO t VALUES (1)")
    assert await asyncio.gather(*waiting) == [2, 2]  # one commit woke both
    stop.set()
    await asyncio.gather(*workers)
    for wakeup in wakeups:
        wakeup.close()
    await asyncio.gather(*watchers, return_exceptions=True)
    assert all(t.done() for t in watchers)
    other.close()


def test_an_app_can_start_its_workers_again_in_another_event_loop() -> None:
    app = FastAPI()
    events: list[asyncio.Event] = []

    async def once() -> None:
        unit = Passes()

        async def worker(app: FastAPI) -> None:
            await run_worker("w", unit, wakeup=Wakeup(), stop_event=stop_event(app), idle_backoff=(3600, 3600))

        tasks = start_workers(app, [worker])
        events.append(stop_event(app))
        await unit.next_pass()
        await stop_workers(app, tasks, grace=3600)
        assert tasks[0].done() and not tasks[0].cancelled()

    for _ in range(2):  # e.g. two lifespans in two tests' loops
        asyncio.run(once())
    # The first run's stop event is bound to its (closed) loop: the second run has its own.
    assert events[0] is not events[1] and events[0].is_set() and events[1].is_set()


async def test_the_watcher_backs_off_while_nothing_changes_and_looks_often_again_after_a_change(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (x INTEGER)")
    pauses: list[float] = []
    seen: list[int] = []
    done = asyncio.Event()

    async def pause(seconds: float) -> None:  # the watcher's sleep, on a fake clock
        pauses.append(seconds)
        if len(pauses) == 4:
            other.execute("INSERT INTO t VALUES (1)")  # another process commits meanwhile
        if len(pauses) == 7:
            seen.append(wakeup.mark())
            wakeup.close()  # the last subscriber leaves: the watcher ends
            done.set()
        await asyncio.sleep(0)

    wakeup = Wakeup(probe=DataVersionProbe(path, interval=0.01, max_interval=0.04, sleep=pause))
    assert wakeup.mark() == 0  # subscribes: the watcher starts
    await done.wait()
    assert pauses == [0.01, 0.02, 0.04, 0.04, 0.01, 0.02, 0.04]
    assert seen == [1]  # the one change notified the wake-up once
    other.close()
