"""The kit's Upstream over real sockets, as deployed (no injected transport): calls go straight to
the aiohttp session, not through httpx's client, and carry what httpx would have sent; transport
failures still end as UpstreamUnavailable / UpstreamTimeout."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from httpx_aiohttp import AiohttpTransport

from service_kit.errors import UpstreamTimeout, UpstreamUnavailable
from service_kit.http import ServiceToken, Upstream, build_http_client
from service_kit.settings import ServiceSettings


class Recorder:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.delay = 0.0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.seen.append({"method": scope["method"], "path": scope["path"], "query": scope["query_string"].decode()})
        self.seen[-1] |= {"headers": headers, "body": body}
        if self.delay:
            await asyncio.sleep(self.delay)
        answer = json.dumps({"ok": True}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": answer})


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def upstream(tmp_path: Path, base_url: str, **settings: Any) -> AsyncIterator[Upstream]:
    http = build_http_client(ServiceSettings.load("kit", data_dir=tmp_path, **settings))
    token = ServiceToken(http, token_url="http://127.0.0.1:9/token", client_id="", client_secret="")
    try:
        yield Upstream(http, token, base_url=base_url, name="orders")
    finally:
        await http.aclose()


async def test_calls_skip_the_httpx_client_and_send_what_it_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def not_through_httpx(*_: Any) -> httpx.Response:
        raise AssertionError("the Upstream went through the httpx client")

    monkeypatch.setattr(AiohttpTransport, "handle_async_request", not_through_httpx)
    recorder = Recorder()
    async with serving(recorder) as url, upstream(tmp_path, url) as api:
        read = await api.get("/v1/orders", params={"partner": "acme", "open": True, "limit": 5}, partner_id="acme")
        written = await api.post("/v1/orders", json={"sku": "WIDGET-\u00e9"}, idempotency_key="k-1")

    assert read.status_code == 200 and read.json() == {"ok": True}
    assert written.headers["content-type"] == "application/json"
    get, post = recorder.seen
    assert get["query"] == "partner=acme&open=true&limit=5"
    assert get["headers"]["x-interchange-partner"] == "acme"
    assert get["body"] == b""
    assert post["headers"]["content-type"] == "application/json"
    assert post["headers"]["idempotency-key"] == "k-1"
    assert json.loads(post["body"]) == {"sku": "WIDGET-\u00e9"}


async def test_an_unreachable_upstream_is_unavailable_and_a_slow_one_a_timeout(tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    try:
        async with upstream(tmp_path, f"http://127.0.0.1:{closed.getsockname()[1]}") as api:
            with pytest.raises(UpstreamUnavailable, match="unreachable"):
                await api.get("/v1/orders/O-1")
    finally:
        closed.close()

    recorder = Recorder()
    recorder.delay = 1.0
    async with serving(recorder) as url, upstream(tmp_path, url, http_read_timeout=0.2) as api:
        with pytest.raises(UpstreamTimeout):
            await api.post("/v1/orders", json={}, retry_safe=False)


async def test_a_compressed_answer_reads_as_the_upstream_sent_it(tmp_path: Path) -> None:
    payload = {"id": "ord_1", "lines": ["x" * 50] * 40}

    async def compressing(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        body = gzip.compress(json.dumps(payload).encode())
        headers = [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async with serving(compressing) as url, upstream(tmp_path, url) as orders:
        resp = await orders.get("/v1/orders/ord_1")
        again = await resp.aread()

    assert resp.status_code == 200
    assert resp.json() == payload
    assert again == resp.content
    assert resp.headers["content-type"] == "application/json"
