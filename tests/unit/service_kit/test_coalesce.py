"""service_kit.coalesce: items that arrive while a batch is handled go in the next batch; every
caller gets its own item's outcome; a handler that fails tells every item it left unsettled."""

from __future__ import annotations

import asyncio

import pytest

from service_kit.coalesce import Coalescer, Waiting


async def test_items_queued_while_a_batch_is_handled_form_the_next_batch() -> None:
    batches: list[list[int]] = []
    first_running, release = asyncio.Event(), asyncio.Event()

    async def handle(batch: list[Waiting[int, int]]) -> None:
        batches.append([w.item for w in batch])
        if len(batches) == 1:
            first_running.set()
            await release.wait()
        for waiting in batch:
            waiting.settle(result=waiting.item * 10)

    coalescer: Coalescer[int, int] = Coalescer(handle, name="test", max_batch=2)
    first = asyncio.create_task(coalescer.submit(1))
    await first_running.wait()
    rest = [asyncio.create_task(coalescer.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    assert coalescer.waiting == 3
    release.set()

    assert [await first, *[await r for r in rest]] == [10, 20, 30, 40]
    assert batches == [[1], [2, 3], [4]]  # max_batch bounds each batch


async def test_a_failing_handler_fails_the_items_it_left_unsettled() -> None:
    async def handle(batch: list[Waiting[str, str]]) -> None:
        batch[0].settle(result="done")
        raise RuntimeError("bug")

    coalescer: Coalescer[str, str] = Coalescer(handle, name="test", max_batch=10)
    settled, failed = await asyncio.gather(coalescer.submit("a"), coalescer.submit("b"), return_exceptions=True)
    assert settled == "done"
    assert isinstance(failed, RuntimeError)


async def test_a_caller_that_goes_away_does_not_stop_its_batch() -> None:
    handled: list[str] = []
    started = asyncio.Event()

    async def handle(batch: list[Waiting[str, str]]) -> None:
        started.set()
        await asyncio.sleep(0)
        handled.extend(w.item for w in batch)
        for waiting in batch:
            waiting.settle(result=waiting.item)

    coalescer: Coalescer[str, str] = Coalescer(handle, name="test", max_batch=10)
    gone = asyncio.create_task(coalescer.submit("a"))
    await started.wait()
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert await coalescer.submit("b") == "b"
    assert handled == ["a", "b"]
