"""``python -m interchange.serve [uvicorn's options]``: uvicorn, with a once-a-second housekeeping tick.

uvicorn's ``Server.main_loop`` wakes the event loop ten times a second for its housekeeping (the
``Date`` header, refreshed once a second, and whether to exit). Idle, that is most of what a
service costs once its workers wait for work instead of polling: about 0.13% of a core per
process here, half of an idle suite's budget (``bench/idle.py``). This server ticks once a second
(the ``Date`` header still changes every second) and is woken at once by the exit signal, so a
shutdown starts as promptly as before. Everything else is uvicorn's: its CLI, options, server and
graceful shutdown; uvicorn has no setting for the tick, hence this subclass.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from types import FrameType

import uvicorn

TICK_SECONDS = 1.0
TICKS_PER_SECOND = 10  # what uvicorn's ``on_tick`` counts in (it refreshes the Date header at multiples of 10)


class QuietServer(uvicorn.Server):
    """``uvicorn.Server`` with one housekeeping tick a second, woken early by ``handle_exit``."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop, self._exit = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + TICKS_PER_SECOND) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), timeout=TICK_SECONDS)
            should_exit = await self.on_tick(counter)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._loop is not None and self._exit is not None and not self._loop.is_closed():
            # A signal handler runs between two bytecodes of the main thread: hand the wake-up to
            # the loop (its self-pipe interrupts the wait).
            self._loop.call_soon_threadsafe(self._exit.set)


def main() -> None:
    # uvicorn's CLI builds its server from the name ``Server`` in ``uvicorn.main`` (the module:
    # the package's ``uvicorn.main`` attribute is the CLI function).
    cli = importlib.import_module("uvicorn.main")
    cli.Server = QuietServer  # type: ignore[attr-defined]
    cli.main()


if __name__ == "__main__":
    main()
