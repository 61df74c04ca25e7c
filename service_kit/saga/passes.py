"""One worker pass over a saga table's due rows: ``concurrency`` runners, each advancing one
claimed row at a time. Rows are claimed several at a time (one transaction, one runner at a time)
and handed out one by one. A runner that finds nothing due waits, while others are still at work,
for new work (``PassSignal.notify(work=True)``, from the service's wake-up) or for one of them to
finish, so rows arriving during a pass start at once; a pass ends when none of its runners has a
row, after ``batch_size`` claims, or once the service is stopping (rows in hand finish their
current step; claimed ones not started are released at the next start).

The service supplies ``claim`` (its claim of due rows, with whatever it reads in the same
transaction) and ``advance`` (its step table driving one row; True when the row's saga stopped).
Passes are driven by ``service_kit.workers.run_worker`` in the service's worker hook.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger("service_kit.saga.passes")

T = TypeVar("T")


class PassSignal:
    """Something changed for a pass's idle runners: new work (``work`` counts those), or a row
    finished. Each notify sets the event waiters took and hands out a fresh one, so no notify
    between taking it and waiting on it is lost."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.work = 0

    def current(self) -> asyncio.Event:
        return self._event

    def notify(self, *, work: bool) -> None:
        self.work += work
        self._event.set()
        self._event = asyncio.Event()


#: Claims up to ``limit`` due rows (not in ``skip``): their ids with what was read alongside.
Claim = Callable[[int, Sequence[str]], Awaitable[Sequence[tuple[str, T]]]]
#: Advances one claimed row; True when its saga stopped (done, or waiting for a person).
Advance = Callable[[str, T], Awaitable[bool]]


@dataclass
class PassResult:
    stopped: int = 0
    claimed: int = 0


@dataclass
class SagaPass(Generic[T]):
    """One pass; ``in_flight``: the ids running in this process (shared across passes, so a row
    running here is never claimed twice by it)."""

    claim: Claim[T]
    advance: Advance[T]
    concurrency: int
    batch_size: int
    poll: float
    stopping: asyncio.Event
    in_flight: set[str]
    signal: PassSignal = field(default_factory=PassSignal)
    name: str = "saga"

    async def run(self) -> PassResult:
        result = PassResult()
        busy = 0  # runners advancing a row right now
        ready: list[tuple[str, T]] = []
        claiming = asyncio.Lock()
        empty_at = -1  # ``signal.work`` when the database last had nothing due
        signal, stopping, in_flight = self.signal, self.stopping, self.in_flight
        concurrency = max(1, self.concurrency)
        poll = max(self.poll, 0.01)

        async def next_row(*, look: bool) -> tuple[str, T] | None:
            """The database is asked again only when ``look`` or new work was signalled since it
            last had none (not once per idle runner)."""
            nonlocal empty_at
            async with claiming:
                if stopping.is_set():
                    return None
                want = min(concurrency, self.batch_size - result.claimed)
                if not ready and want > 0 and (look or signal.work != empty_at):
                    got = await self.claim(want, sorted(in_flight))
                    ready.extend(got)
                    result.claimed += len(got)
                    in_flight.update(row_id for row_id, _ in ready)
                    if not got:
                        empty_at = signal.work
                return ready.pop(0) if ready else None

        async def runner() -> None:
            nonlocal busy
            look = True
            while True:
                changed = signal.current()  # taken before looking: a signal after this is not missed
                found = await next_row(look=look)
                if found is None:
                    if busy == 0 or stopping.is_set() or result.claimed >= self.batch_size:
                        return
                    # Others are still at work: wait for new work or one of them to finish, instead
                    # of leaving the pass idle until its slowest row is done; after a poll interval
                    # without either, look in the database anyway (another process).
                    try:
                        await asyncio.wait_for(changed.wait(), timeout=poll)
                        look = False
                    except TimeoutError:
                        look = True
                    continue
                row_id, loaded = found
                busy += 1
                try:
                    stopped = await self.advance(row_id, loaded)
                except Exception:
                    log.exception("saga_advance_failed", saga=self.name, row_id=row_id)
                    stopped = False
                finally:
                    busy -= 1
                    in_flight.discard(row_id)
                    signal.notify(work=False)
                result.stopped += stopped

        await asyncio.gather(*(runner() for _ in range(concurrency)))
        return result


__all__ = ["Advance", "Claim", "PassResult", "PassSignal", "SagaPass"]
