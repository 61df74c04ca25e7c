"""Runs the CLI's admin calls against apps in process: the CLI (synchronous httpx, in a worker
thread) sends each request to the test's event loop, where the app runs."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable

import httpx


class LoopBridge(httpx.BaseTransport):
    """A synchronous transport that hands each request to an async transport on ``loop`` (the
    test's, busy awaiting the thread that runs the CLI) and waits for its whole answer."""

    def __init__(self, loop: asyncio.AbstractEventLoop, routes: dict[str, httpx.AsyncBaseTransport]) -> None:
        self.loop = loop
        self.routes = routes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        route = self.routes.get(request.url.host)
        if route is None:
            raise httpx.ConnectError(f"no route to {request.url.host}", request=request)

        async def send() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            body = request.read()
            forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            resp = await route.handle_async_request(forwarded)
            return resp.status_code, resp.headers.raw, await resp.aread()

        status, headers, content = asyncio.run_coroutine_threadsafe(send(), self.loop).result(timeout=60)
        return httpx.Response(status, headers=headers, content=content, request=request)


def token_endpoint(mint: Callable[[str, str], str | None]) -> httpx.MockTransport:
    """The gateway's token endpoint: ``mint(client_id, secret)`` gives the token, or None for a 401."""

    def handle(request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        client_id, _, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        token = mint(client_id, secret)
        if token is None:
            return httpx.Response(401, json={"error": "invalid_client"})
        return httpx.Response(200, json={"access_token": token, "token_type": "Bearer", "expires_in": 300})

    return httpx.MockTransport(handle)
