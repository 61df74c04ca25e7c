"""A stand-in service for the benchmarks: answers every request at once with the same bytes
(``BENCH_STUB_BODY``, JSON), so what is measured in front of it is the proxy, not the service.

``python -m uvicorn bench._stub:app --port N`` (raw ASGI: no framework cost of its own)."""

from __future__ import annotations

import os
from typing import Any

_BODY = os.environ.get("BENCH_STUB_BODY", '{"ok": true}').encode()
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})
