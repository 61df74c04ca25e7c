"""``python -m gateway.serve --factory gateway.app:create_app [options]``: the gateway on granian.

How ``interchange up`` serves the gateway (the services run on uvicorn through
``interchange.serve``). granian's ASGI server, embedded in this process (one process, as with
uvicorn: the launcher's pid is the server's), on uvloop. Chosen by measurement: per proxied call
it costs the gateway less CPU than uvicorn (bench/README.md, gateway); this process imports no
uvicorn, which keeps the gateway's memory within its budget with granian's and pyreqwest's
libraries loaded; nor the optional modules its libraries load only because they are installed
(``keep_out_unused``: ~5 MB).

Takes the launcher's uvicorn-style options. granian never reads X-Forwarded-* itself
(``--no-proxy-headers`` is its only behaviour: the gateway trusts them from its
``trusted_proxies`` only, gateway/app.py). On SIGTERM or SIGINT it stops accepting, lets the
requests in flight finish, then runs the app's lifespan shutdown (the audit log's last batch).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import signal
import sys

#: Optional modules this process never uses, which a library imports whenever they are
#: installed (and the dev tools install them): httpx's command line (``httpx._main``, with
#: click and pygments, ~1.5 MB), watchfiles (granian's ``--reload``, ~0.5 MB) and rich (~3 MB:
#: structlog's console renderer formats exceptions with it when installed; without it, as
#: Python prints them; the gateway's logs are JSON unless ``log_json`` is off).
UNUSED_MODULES = ("httpx._main", "watchfiles", "rich")


def keep_out_unused() -> None:
    """Mark ``UNUSED_MODULES`` as not installed for this process, before anything imports them:
    httpx and granian catch the ImportError and do without (``httpx.main`` then says to install
    httpx[cli]). Called by ``main`` only, never on import (a test process keeps its modules)."""
    for name in UNUSED_MODULES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: "not found" on import


def main(argv: list[str] | None = None) -> None:
    keep_out_unused()
    import uvloop
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server

    parser = argparse.ArgumentParser(prog="python -m gateway.serve")
    parser.add_argument("target", help="module:attribute, e.g. gateway.app:create_app")
    parser.add_argument("--factory", action="store_true")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="warning")
    # rsgi: granian's own interface, for an app that has one (the benchmarks' RSGI floor, bench/_floor.py).
    parser.add_argument("--interface", choices=["asgi", "rsgi"], default="asgi")
    # Accepted for the launcher's sake; granian has no access log here and reads no proxy headers.
    parser.add_argument("--timeout-graceful-shutdown", type=float, default=None)
    parser.add_argument("--no-access-log", action="store_true")
    parser.add_argument("--no-proxy-headers", action="store_true")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    module, _, name = args.target.partition(":")
    server = Server(
        getattr(importlib.import_module(module), name),
        address=args.host,
        port=args.port,
        interface=Interfaces.RSGI if args.interface == "rsgi" else Interfaces.ASGI,
        factory=args.factory,
        websockets=False,
        backlog=2048,
        log_level=LogLevels(args.log_level),
        log_access=False,
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, server.stop)
        await server.serve()

    uvloop.run(run())


if __name__ == "__main__":
    main()
