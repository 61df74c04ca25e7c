"""``interchange.serve``: uvicorn with one housekeeping tick a second, woken at once to exit."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import uvicorn

from interchange.serve import QuietServer


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})


class CountingServer(QuietServer):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ticks: list[int] = []
        self.ticked = asyncio.Event()

    async def on_tick(self, counter: int) -> bool:
        self.ticks.append(counter)
        self.ticked.set()
        return await super().on_tick(counter)


async def test_every_tick_refreshes_the_date_header_and_an_exit_signal_ends_the_wait() -> None:
    server = CountingServer(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve())
    while len(server.ticks) < 2:  # the tick at start, then one a second
        server.ticked.clear()
        await server.ticked.wait()
    # uvicorn refreshes the Date header on ticks that are multiples of 10: every tick here.
    assert all(counter % 10 == 0 for counter in server.ticks)
    server.handle_exit(signal.SIGTERM, None)  # what the signal handler calls
    server._captured_signals.clear()  # else uvicorn re-raises it at the test runner once stopped
    await serving  # returns without waiting out a tick (pytest-timeout bounds a regression)
    assert server.should_exit
