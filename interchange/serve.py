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
import signal
import sys
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


def serve_granian(argv: list[str]) -> None:
    """``--server granian``: granian's ASGI server, embedded in this process (one process, as with
    uvicorn: the launcher's pid is the server's), on uvloop. Takes the launcher's uvicorn options;
    granian never reads X-Forwarded-* (``--no-proxy-headers`` is its only behaviour) and has no
    housekeeping tick of its own. Chosen for the gateway by measurement (bench/README.md)."""
    import argparse

    import uvloop
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server

    parser = argparse.ArgumentParser(prog="interchange.serve --server granian")
    parser.add_argument("target")
    parser.add_argument("--factory", action="store_true")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--timeout-graceful-shutdown", type=float, default=None)
    parser.add_argument("--no-access-log", action="store_true")
    parser.add_argument("--no-proxy-headers", action="store_true")
    args = parser.parse_args(argv)
    module, _, name = args.target.partition(":")
    server = Server(
        getattr(importlib.import_module(module), name),
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        factory=args.factory,
        websockets=False,
        backlog=2048,
        log_level=LogLevels(args.log_level),
        log_access=False,
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, server.stop)  # in-flight requests finish, then lifespan shutdown
        await server.serve()

    uvloop.run(run())


def main() -> None:
    if sys.argv[1:3] == ["--server", "granian"]:
        serve_granian(sys.argv[3:])
        return
    # uvicorn's CLI builds its server from the name ``Server`` in ``uvicorn.main`` (the module:
    # the package's ``uvicorn.main`` attribute is the CLI function).
    cli = importlib.import_module("uvicorn.main")
    cli.Server = QuietServer  # type: ignore[attr-defined]
    cli.main()


if __name__ == "__main__":
    main()
