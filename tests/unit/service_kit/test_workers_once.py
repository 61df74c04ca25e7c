"""One-shot jobs on the worker runtime (``service_kit.workers.run_once``): retried until they
succeed, stopped between two attempts, never inside one."""

from __future__ import annotations

import asyncio

from service_kit.workers import run_once


class Attempts:
    """A job that fails ``failures`` times, then succeeds; says when each attempt started."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()
        self.finished = 0

    async def __call__(self) -> None:
        self.calls += 1
        self.started.set()
        await self.release.wait()
        if self.calls <= self.failures:
            raise ConnectionError("not there yet")
        self.finished += 1


async def test_a_failing_job_is_retried_until_it_succeeds_once() -> None:
    job = Attempts(failures=2)
    done = await run_once("seed", job, stop_event=asyncio.Event(), error_backoff=(0.001, 0.002))
    assert done is True
    assert (job.calls, job.finished) == (3, 1)


async def test_a_stop_during_the_pause_after_a_failure_ends_the_job_without_another_attempt() -> None:
    job, stop = Attempts(failures=1_000), asyncio.Event()
    task = asyncio.create_task(run_once("seed", job, stop_event=stop, error_backoff=(3600.0, 3600.0)))
    await job.started.wait()
    await asyncio.sleep(0)  # the attempt failed: the runner now pauses for an hour
    stop.set()
    assert await task is False  # returned by itself, long before the hour is up
    assert job.calls == 1 and not task.cancelled()


async def test_a_stop_while_the_job_runs_lets_that_attempt_finish() -> None:
    job, stop = Attempts(failures=0), asyncio.Event()
    job.release.clear()
    task = asyncio.create_task(run_once("seed", job, stop_event=stop))
    await job.started.wait()
    stop.set()
    await asyncio.sleep(0)
    assert not task.done()  # waits for the attempt in hand rather than cancel it
    job.release.set()
    assert await task is True
    assert job.finished == 1
