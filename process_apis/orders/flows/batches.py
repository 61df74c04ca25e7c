"""Calls to the tier below in batches, by group commit: every order hands its entry to one
``Batcher``, which posts whatever has gathered as one batch call, then the next batch, and so on.

Group commit, not a timer: the first entry posts at once (alone if alone); entries arriving while
a batch is in flight (or waiting for the system's pace) go together in the next one. Under load a
batch carries as many entries as arrived during one call, so calls per order fall as load rises.
Hand-written (about forty lines): no maintained asyncio micro-batching library fits a call whose
entries each need their own answer, and the saga's crash safety lives outside it anyway (each
batch operation below is idempotent per entry, so posting an entry again answers the first one).

Used for the pivot (``flows.pivot``: ERP sales orders), the CRM activity (``flows.activities``)
and the WMS reservations and pick releases (``flows.wms_batches``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import structlog

from service_kit.errors import UpstreamUnavailable

log = structlog.get_logger("process_apis.orders.batches")

Entry = TypeVar("Entry")
Answer = TypeVar("Answer")


class Batcher(Generic[Entry, Answer]):
    def __init__(
        self,
        post: Callable[[str, list[Entry]], Awaitable[Mapping[Any, Answer | Exception]]],
        *,
        key: Callable[[Entry], Hashable],
        max_batch: int,
        name: str,
        system: str,
    ) -> None:
        """``post(correlation_id, entries)``: one batch call under the batch's own correlation id
        (the log ties it to the orders in it), answering by ``key(entry)``."""
        self._post = post
        self._key = key
        self.max_batch = max_batch
        self.name = name
        self.system = system
        self._queue: list[tuple[Entry, asyncio.Future[Answer]]] = []
        self._drain: asyncio.Task[None] | None = None
        #: How many batch calls were made and entries posted (metrics and the benchmark read them).
        self.calls = 0
        self.entries = 0
        #: Called once a batch's answers arrived, before any entry hears its own (crash tests stop
        #: the process there: ``flows.injection``); ``None`` in production.
        self.answered_hook: Callable[[], None] | None = None

    async def submit(self, entry: Entry) -> Answer:
        """The entry's answer; raises the entry's own exception (``Refused``...), or the whole
        call's technical failure (``UpstreamUnavailable``, ``UpstreamThrottled``...)."""
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._queue.append((entry, answer))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.create_task(self._post_all(), name=f"orders-{self.name}-batches")
        return await answer

    async def _post_all(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            waiting = [(entry, answer) for entry, answer in batch if not answer.done()]
            if waiting:
                await self._post_one(waiting)

    async def _post_one(self, waiting: Sequence[tuple[Entry, asyncio.Future[Answer]]]) -> None:
        self.calls += 1
        self.entries += len(waiting)
        correlation_id = uuid.uuid4().hex
        keys = [self._key(entry) for entry, _ in waiting]
        log.info(f"{self.name}_batch_posted", correlation_id=correlation_id, orders=keys)
        try:
            answers = await self._post(correlation_id, [entry for entry, _ in waiting])
        except BaseException as exc:  # the whole call failed: every entry in it hears why
            for _, answer in waiting:
                if not answer.done():
                    answer.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        if self.answered_hook is not None:
            self.answered_hook()
        for key, (_, answer) in zip(keys, waiting, strict=True):
            if answer.done():
                continue
            outcome = answers.get(key)
            if isinstance(outcome, Exception):
                answer.set_exception(outcome)
            elif outcome is not None:
                answer.set_result(outcome)
            else:
                answer.set_exception(UpstreamUnavailable(f"The {self.system}'s batch answer misses {key}."))


__all__ = ["Batcher"]
