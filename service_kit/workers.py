"""The worker runtime: background loops that wake on work, back off when idle, stop cooperatively.

Every background loop of a service (outbox relay, event consumers, webhook delivery, publishers,
sagas, pruners) is a *unit of work* run by ``run_worker``::

    async def relay_once() -> int:          # does what is due, returns how many it did
        ...

    wakeup = Wakeup()                        # notify() it after a commit that made work
    await run_worker(
        "outbox_relay", relay_once, wakeup=wakeup, stop_event=stop_event(app), idle_backoff=(0.5, 30.0)
    )

The loop:

- runs ``unit()`` and, while it reports work (``> 0``), runs it again at once (batch what is due);
- when a pass finds nothing, waits on ``wakeup`` for ``idle_backoff[0]`` seconds, doubling the
  wait after every idle pass up to ``idle_backoff[1]``; a wake-up (``Wakeup.notify()`` in this
  process, or the wake-up's cross-process probe seeing a change) runs the unit at once and resets
  the wait. Time-based work (a retry that falls due, a lease that runs out) is found by the next
  pass at the latest after ``idle_backoff[1]``; a schedule is ``idle_backoff=(every, every)``;
- a unit that raises is logged (``worker_failed``) and retried after a capped exponential pause
  (``error_backoff``, by default ``idle_backoff``); the pause is not cut short by wake-ups;
- stops when ``stop_event`` is set, *between* two units: a unit is never cancelled, so no
  cancellation lands inside a database transaction (cancelling an aiosqlite query could hang the
  event loop's close: omnilib/aiosqlite#369). Units should therefore be short (a batch, one
  transaction or a few): stopping waits for the current one.

Wake-ups (``Wakeup``), one per worker or shared by several (every waiter wakes):

- ``notify()``: in-process, from the event loop's thread, e.g. in an ``after_commit`` hook; a
  notification that arrives while the unit runs is not lost (the loop runs the unit again);
- ``probe``: an optional ``ChangeProbe`` for work that other processes make, which notifies the
  wake-up. ``DataVersionProbe`` (``service_kit.sqlite_watch``) watches a SQLite file with
  ``PRAGMA data_version``: one watcher per process and file, shared by its workers, looking every
  ``interval`` seconds after a change and backing off to ``max_interval`` (0.5 s) while nothing
  changes. On Redis the unit itself blocks in ``XREADGROUP BLOCK`` (keep the block short, a
  second or two: stopping waits for it). On PostgreSQL, ``PgNotifyProbe``
  (``service_kit.pg_watch``, ``wakeup_for(..., across_replicas=True)``) carries ``notify()`` to
  the other replicas with LISTEN/NOTIFY. Close a wake-up with a probe when its worker ends.

A one-shot job (a start-up seed, a snapshot fetched until the system below answers) is one unit
too: ``run_once`` retries it until it succeeds and stops between two attempts.

The app factory (``service_kit.app``) starts the app's workers with ``start_workers`` and stops
them with ``stop_workers``: it sets the app's ``stop_event(app)``, waits up to the grace period for
every worker to return, and cancels what is left. Every worker must run its loops on
``run_worker`` (or ``run_once``): nothing else stops it between two units. One that does not (a
plain ``while True`` loop) never returns on the stop event; it is cancelled after the grace period
wherever it stands, and logged as ``worker_not_on_runtime`` so that it gets moved.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy
import structlog
from sqlalchemy import event

from service_kit.pg_watch import notify_probe
from service_kit.sqlite_watch import DataVersionProbe

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncSession

    from service_kit.db import Database

log = structlog.get_logger("service_kit.workers")

Unit = Callable[[], Awaitable[int]]
AppWorker = Callable[["FastAPI"], Coroutine[Any, Any, None]]


class _Slot:
    """One per app worker task (in its context, so its child tasks share it): whether a
    ``run_worker`` loop ever ran in it (one that never did is not on the runtime)."""

    __slots__ = ("entered",)

    def __init__(self) -> None:
        self.entered = False


_slot: contextvars.ContextVar[_Slot | None] = contextvars.ContextVar("service_kit_worker_slot", default=None)
_slots: weakref.WeakKeyDictionary[asyncio.Task[None], _Slot] = weakref.WeakKeyDictionary()


class ChangeProbe(Protocol):
    """Changes made by other processes: notifies the wake-ups that subscribe (the SQLite one:
    ``service_kit.sqlite_watch.DataVersionProbe``)."""

    def subscribe(self, wakeup: Wakeup) -> None:
        """Call ``wakeup.notify()`` on every change from now on (called in the running loop)."""
        ...

    def unsubscribe(self, wakeup: Wakeup) -> None: ...


#: Where a wake-up stands (``Wakeup.mark()``), to compare in ``Wakeup.wait(since=...)``.
Mark = int


class Wakeup:
    """What an idle worker waits on: ``notify()`` from this process, and an optional probe that
    notifies it on changes made by other processes."""

    def __init__(self, *, probe: ChangeProbe | None = None) -> None:
        self.probe = probe
        self._subscribed = False
        self._notified = 0
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        """Wake every worker waiting on this (call it on the event loop's thread) and, when the
        probe can announce (``service_kit.pg_watch.PgNotifyProbe``), those of the other replicas."""
        self.wake_here()
        announce = getattr(self.probe, "announce", None)
        if announce is not None:
            announce()

    def wake_here(self) -> None:
        """Wake every worker of this process waiting on this (what a probe calls)."""
        self._notified += 1
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    @property
    def waiting(self) -> int:
        """How many workers wait on this now (idle)."""
        return len(self._waiters)

    def mark(self) -> Mark:
        """Where things stand; take it *before* looking for work, then ``wait(since=...)``. The
        first mark subscribes to the probe, so a change after it is never missed."""
        if self.probe is not None and not self._subscribed:
            self.probe.subscribe(self)
            self._subscribed = True
        return self._notified

    async def wait(self, *, since: Mark, seconds: float) -> bool:
        """Wait until something changed after ``since`` (True) or ``seconds`` pass (False)."""
        if self._notified != since:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait({waiter}, timeout=seconds)
        finally:
            self._waiters.discard(waiter)
        return self._notified != since

    def close(self) -> None:
        """Leave the probe (its watcher stops when nobody is left)."""
        if self.probe is not None and self._subscribed:
            self.probe.unsubscribe(self)
            self._subscribed = False


async def run_worker(
    name: str,
    unit: Unit,
    *,
    wakeup: Wakeup,
    stop_event: asyncio.Event,
    idle_backoff: tuple[float, float] = (0.5, 30.0),
    error_backoff: tuple[float, float] | None = None,
    next_pass: Callable[[], float] | None = None,
) -> None:
    """Run ``unit`` until ``stop_event`` is set (see the module's docstring). ``error_backoff``
    (default: ``idle_backoff``) bounds the pause after a failed unit. ``next_pass``: for a
    schedule on the clock (``service_kit.leases``), the seconds to wait after an idle pass,
    asked after each one, instead of ``idle_backoff``'s doubling."""
    low, high = idle_backoff
    err_low, err_high = error_backoff or idle_backoff
    for name_, (a, b) in (("idle_backoff", idle_backoff), ("error_backoff", (err_low, err_high))):
        if not 0 < a <= b:
            raise ValueError(f"{name_} must be 0 < min <= max, not {(a, b)!r}")
    slot = _slot.get()
    if slot is not None:
        slot.entered = True
    stopped = asyncio.ensure_future(stop_event.wait())
    stopped.add_done_callback(lambda _: wakeup.wake_here())
    owns_probe = wakeup.probe is not None and not wakeup._subscribed  # this loop subscribes it: and leaves
    idle, failures = low, 0
    try:
        while not stop_event.is_set():
            since = wakeup.mark()
            try:
                done = await unit()
            except Exception as exc:
                failures += 1
                pause = min(err_high, err_low * 2 ** (failures - 1))
                log.warning("worker_failed", worker=name, error=repr(exc), retry_in=round(pause, 3))
                await asyncio.wait({stopped}, timeout=pause)
                continue
            failures = 0
            if done:
                idle = low
                await asyncio.sleep(0)  # a unit that found work may not have awaited anything
                continue
            if next_pass is not None:
                await wakeup.wait(since=since, seconds=next_pass())
            elif await wakeup.wait(since=since, seconds=idle):
                idle = low
            else:
                idle = min(high, idle * 2)
    finally:
        stopped.cancel()
        if owns_probe:
            wakeup.close()


async def run_once(
    name: str,
    job: Callable[[], Awaitable[object]],
    *,
    stop_event: asyncio.Event,
    error_backoff: tuple[float, float] = (1.0, 30.0),
) -> bool:
    """A one-shot job (a start-up seed, a snapshot) as a unit of work on ``run_worker``: run until
    it succeeds once, a failure retried after a capped exponential pause (logged as
    ``worker_failed``), stopping between two attempts when ``stop_event`` is set, never inside one.
    True when the job succeeded, False when the stop came first."""
    done, succeeded = asyncio.Event(), False
    forward = asyncio.ensure_future(stop_event.wait())  # the service's stop ends the runner too
    forward.add_done_callback(lambda _: done.set())

    async def attempt() -> int:
        nonlocal succeeded
        await job()
        succeeded = True
        done.set()
        return 1  # the runner looks at ``done`` at once

    try:
        await run_worker(name, attempt, wakeup=Wakeup(), stop_event=done, error_backoff=error_backoff)
    finally:
        forward.cancel()
    return succeeded


# One wake-up per (database, topic): a commit that makes work notifies the worker that does it.
_topics: weakref.WeakKeyDictionary[Engine, dict[str, Wakeup]] = weakref.WeakKeyDictionary()


def wakeup_for(*, db: Database, topic: str, across_replicas: bool = False) -> Wakeup:
    """The wake-up that ``notify_after_commit(topic=...)`` on a session of ``db`` notifies.
    ``across_replicas`` (given by the first caller): on PostgreSQL, a commit in one replica wakes
    the idle workers of the others too (``service_kit.pg_watch``), for work any replica may claim
    (a saga's due rows); not for work each replica does for its own commits (the outbox relay)."""
    topics = _topics.setdefault(db.engine.sync_engine, {})
    wakeup = topics.get(topic)
    if wakeup is None:
        probe = notify_probe(url=db.url, topic=topic) if across_replicas else None
        wakeup = topics[topic] = Wakeup(probe=probe)
    return wakeup


def notify_after_commit(*, session: AsyncSession, topic: str) -> None:
    """Wake ``topic``'s worker when ``session``'s transaction commits (never on a rollback: the
    work it staged is gone). Call it where the work is staged, e.g. with the outbox row."""
    sync = session.sync_session
    key = ("service_kit.workers", topic)
    if key in sync.info:
        return
    sync.info[key] = True
    bind = sync.get_bind()
    engine = bind if isinstance(bind, sqlalchemy.Engine) else bind.engine

    def committed(_session: object) -> None:
        wakeup = _topics.get(engine, {}).get(topic)
        if wakeup is not None:
            wakeup.notify()

    # Stays for the session's life (a request's, or one unit of work's): a later commit of the
    # same session wakes the worker once more, which then finds nothing.
    event.listen(sync, "after_commit", committed)


def stop_event(app: FastAPI) -> asyncio.Event:
    """The event that tells ``app``'s workers to stop (set by ``stop_workers``)."""
    event: asyncio.Event | None = getattr(app.state, "workers_stop", None)
    if event is None:
        event = app.state.workers_stop = asyncio.Event()
    return event


def start_workers(app: FastAPI, workers: Sequence[AppWorker]) -> list[asyncio.Task[None]]:
    """Start each of ``app``'s workers as a task (stop them with ``stop_workers``)."""
    app.state.workers_stop = asyncio.Event()  # a fresh one: an app may run again, in another loop
    tasks = []
    for worker in workers:
        context, slot = contextvars.copy_context(), _Slot()
        context.run(_slot.set, slot)
        task = asyncio.create_task(worker(app), name=getattr(worker, "__name__", "worker"), context=context)
        _slots[task] = slot
        tasks.append(task)
    return tasks


async def stop_workers(app: FastAPI, tasks: Sequence[asyncio.Task[None]], *, grace: float) -> None:
    """Stop ``tasks`` together: each finishes its unit of work and returns; what is still running
    after ``grace`` seconds is cancelled (logged, and as ``worker_not_on_runtime`` when it never
    ran on ``run_worker``)."""
    stop_event(app).set()
    if not tasks:
        return
    _, late = await asyncio.wait(tasks, timeout=grace)
    for task in late:
        slot = _slots.get(task)
        if slot is not None and not slot.entered:
            log.error("worker_not_on_runtime", worker=task.get_name(), grace_seconds=grace)
        else:
            log.warning("worker_cancelled_after_grace", worker=task.get_name(), grace_seconds=grace)
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for task, result in zip(tasks, results, strict=True):
        if isinstance(result, Exception):
            log.warning("worker_ended_with_error", worker=task.get_name(), error=repr(result))


__all__ = [
    "AppWorker",
    "ChangeProbe",
    "DataVersionProbe",
    "Mark",
    "Unit",
    "Wakeup",
    "notify_after_commit",
    "run_once",
    "run_worker",
    "start_workers",
    "stop_event",
    "stop_workers",
    "wakeup_for",
]
