"""The floor of a Python hop, for the benchmarks: a raw ASGI reverse proxy on one shared client,
with no policy, no logging and no framework (PERFORMANCE.md's "raw ASGI app + aiohttp client"
row). Whatever the gateway costs above it is policy, framework and plumbing. A request body is
read whole and sent up with the request.

Two clients, one proxy: ``app`` over aiohttp (the floor the issue was measured against) and
``reqwest_app`` over pyreqwest (the gateway's own client, a Rust reqwest with an async API);
bench/gateway.py serves the first with uvicorn and the second with granian, and takes the
cheapest as the floor. ``rsgi_app`` is the pyreqwest proxy on granian's own interface (RSGI:
``python -m gateway.serve bench._floor:rsgi_app --interface rsgi``), which ASGI servers cannot
run: an answer whose first chunk completes its Content-Length goes down in one synchronous call
(``response_bytes``), any other streams.

``BENCH_FLOOR_UPSTREAM=http://127.0.0.1:N python -m uvicorn bench._floor:app --port M``;
``/marketplace/<rest>`` goes to ``<upstream>/<rest>``.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from pyreqwest.client import ClientBuilder

_UPSTREAM = os.environ.get("BENCH_FLOOR_UPSTREAM", "http://127.0.0.1:8101")
_DROP = {b"host", b"connection", b"keep-alive", b"transfer-encoding"}
_DROP_TEXT = {name.decode() for name in _DROP}
_state: dict[str, Any] = {}


async def _lifespan(receive: Any, send: Any, start: Callable[[], Any], stop: Callable[[], Awaitable[None]]) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _state["client"] = start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _body(scope: dict[str, Any], receive: Any) -> bytes:
    """The request body, read whole to its last message (a POST's floor forwards its body too);
    nothing is awaited for a request without one (a GET's floor costs what it did)."""
    if not any(k in (b"content-length", b"transfer-encoding") for k, _ in scope["headers"]):
        return b""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(
            receive,
            send,
            lambda: aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100), auto_decompress=False),
            lambda: _state["client"].close(),
        )
        return
    path = scope["path"].removeprefix("/marketplace")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k not in _DROP]
    body = await _body(scope, receive)
    async with _state["client"].request(scope["method"], _UPSTREAM + path, headers=headers, data=body or None) as resp:
        down = [(k.lower(), v) for k, v in resp.raw_headers if k.lower() not in _DROP]
        await send({"type": "http.response.start", "status": resp.status, "headers": down})
        async for chunk in resp.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


async def reqwest_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(
            receive,
            send,
            lambda: ClientBuilder().max_connections(100).gzip(False).error_for_status(False).build(),
            lambda: _state["client"].close(),
        )
        return
    path = scope["path"].removeprefix("/marketplace")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k not in _DROP]
    request = _state["client"].request(scope["method"], _UPSTREAM + path).headers(headers)
    body = await _body(scope, receive)
    if body:
        request = request.body_bytes(body)
    async with request.build_streamed() as resp:
        down = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in resp.headers.items() if k not in _DROP_TEXT]
        await send({"type": "http.response.start", "status": resp.status, "headers": down})
        reader = resp.body_reader
        while (chunk := await reader.read_chunk()) is not None:
            await send({"type": "http.response.body", "body": bytes(chunk), "more_body": True})
        await send({"type": "http.response.body", "body": b""})


class _RsgiFloor:
    """The pyreqwest floor on RSGI (granian's interface: headers as text both ways, no message
    dicts, a whole answer in one call)."""

    def __init__(self) -> None:
        self.client: Any = None

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if self.client is None:  # built in the running loop, on first use
            self.client = ClientBuilder().max_connections(100).gzip(False).error_for_status(False).build()
        path = scope.path.removeprefix("/marketplace")
        target = _UPSTREAM + path + ("?" + scope.query_string if scope.query_string else "")
        headers = [(k, v) for k, v in scope.headers.items() if k not in _DROP_TEXT]
        request = self.client.request(scope.method, target).headers(headers)
        if "content-length" in scope.headers or "transfer-encoding" in scope.headers:
            request = request.body_bytes(await proto())
        async with request.build_streamed() as resp:
            down = [(k, v) for k, v in resp.headers.items() if k not in _DROP_TEXT]
            reader = resp.body_reader
            chunk = await reader.read_chunk()
            length = resp.get_header("content-length")
            if chunk is None or (length is not None and len(chunk) >= int(length)):
                proto.response_bytes(resp.status, down, bytes(chunk or b""))
                return
            stream = proto.response_stream(resp.status, down)
            while chunk is not None:
                await stream.send_bytes(bytes(chunk))
                chunk = await reader.read_chunk()


rsgi_app = _RsgiFloor()
