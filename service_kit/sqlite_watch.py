"""``DataVersionProbe``: wake idle workers when another connection commits to a SQLite file.

Processes that share a SQLite file (the embedded event log) have no way to signal each other, so
someone has to look. ``PRAGMA data_version`` is the cheapest look there is: it reads the WAL
index, takes no lock and costs about 3 µs; it changes when any *other* connection committed. What
costs is waking the event loop to look (about 50-120 µs of CPU per wake-up on the machines here),
so every worker of a process that watches one file shares one watcher (one task, one dedicated
connection), and the watcher slows down when nothing happens: it looks every ``interval`` seconds
after a change, doubling the pause up to ``max_interval`` while nothing changes. An idle service
then wakes twice a second per watched file instead of 20 times per worker; the first event after
a quiet spell waits at most ``max_interval``, the ones after it ``interval``.

A look that fails (the file is being recovered, or is missing) counts as a change: the workers run
and find out. The watcher runs only while some ``Wakeup`` subscribes to it and closes its
connection when the last one leaves (``Wakeup.close()``).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

Sleep = Callable[[float], Awaitable[None]]

if TYPE_CHECKING:
    from service_kit.workers import Wakeup


class _Watch:
    """One file watched for one event loop: notifies every subscribed wake-up on a change."""

    def __init__(self, path: Path, *, interval: float, max_interval: float, sleep: Sleep) -> None:
        self.path, self.interval, self.max_interval, self._sleep = path, interval, max_interval, sleep
        self.subscribers: set[Wakeup] = set()
        self._conn: sqlite3.Connection | None = None
        self._last: int | None = None
        self._task: asyncio.Task[None] | None = None

    def _version(self) -> int | None:
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(self.path, timeout=0.05, isolation_level=None, check_same_thread=False)
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None

    def changed(self) -> bool:
        version = self._version()
        changed = version is None or version != self._last
        self._last = version
        return changed

    def start(self) -> None:
        self._last = self._version()  # the baseline: what is committed now is the workers' to find
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"watch {self.path.name}")

    async def _run(self) -> None:
        pause = self.interval
        try:
            while self.subscribers:
                await self._sleep(pause)  # cancel-safe: the look below is synchronous
                if self.changed():
                    for wakeup in list(self.subscribers):
                        wakeup.notify()
                    pause = self.interval
                else:
                    pause = min(self.max_interval, pause * 2)
        finally:
            self.close()

    def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


_watches: dict[tuple[int, Path, float, float, Sleep], tuple[asyncio.AbstractEventLoop, _Watch]] = {}


class DataVersionProbe:
    """A ``Wakeup``'s probe for commits by other connections to the SQLite file at ``path``
    (``sleep``: the watcher's pause, replaceable in tests)."""

    def __init__(
        self, path: str | Path, *, interval: float = 0.05, max_interval: float = 0.5, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.path = Path(path).resolve()
        self.interval = interval
        self.max_interval = max(interval, max_interval)
        self._sleep = sleep
        self._watch: _Watch | None = None

    def subscribe(self, wakeup: Wakeup) -> None:
        """Notify ``wakeup`` on every change from now on (call it in the running loop)."""
        loop = asyncio.get_running_loop()
        key = (id(loop), self.path, self.interval, self.max_interval, self._sleep)
        found = _watches.get(key)
        if found is None or found[0] is not loop or not found[1].subscribers:
            watch = _Watch(self.path, interval=self.interval, max_interval=self.max_interval, sleep=self._sleep)
            _watches[key] = (loop, watch)
            watch.subscribers.add(wakeup)
            watch.start()
        else:
            watch = found[1]
            watch.subscribers.add(wakeup)
        self._watch = watch

    def unsubscribe(self, wakeup: Wakeup) -> None:
        watch = self._watch
        if watch is None:
            return
        watch.subscribers.discard(wakeup)
        if not watch.subscribers:
            watch.stop()
            for key, (_, known) in list(_watches.items()):
                if known is watch:
                    del _watches[key]


__all__ = ["DataVersionProbe"]
