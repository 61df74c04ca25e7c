"""The floor of a Python hop, for the benchmarks: a raw ASGI reverse proxy on one shared aiohttp
session, with no policy, no logging and no framework (PERFORMANCE.md's "raw ASGI app + aiohttp
client" row). Whatever the gateway costs above it is policy, framework and plumbing.

``BENCH_FLOOR_UPSTREAM=http://127.0.0.1:N python -m uvicorn bench._floor:app --port M``;
``/marketplace/<rest>`` goes to ``<upstream>/<rest>``.
"""

from __future__ import annotations

import os
from typing import Any

import aiohttp

_UPSTREAM = os.environ.get("BENCH_FLOOR_UPSTREAM", "http://127.0.0.1:8101")
_DROP = {b"host", b"connection", b"keep-alive", b"transfer-encoding"}
_state: dict[str, aiohttp.ClientSession] = {}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _state["session"] = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=100), auto_decompress=False
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _state["session"].close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"].removeprefix("/marketplace")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k not in _DROP]
    async with _state["session"].request(scope["method"], _UPSTREAM + path, headers=headers) as resp:
        down = [(k.lower(), v) for k, v in resp.raw_headers if k.lower() not in _DROP]
        await send({"type": "http.response.start", "status": resp.status, "headers": down})
        async for chunk in resp.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
