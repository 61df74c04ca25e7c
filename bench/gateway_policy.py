"""What the gateway's own code costs per proxied call, without the HTTP server and client.

The gateway app is called in process, as uvicorn would call it, with a forwarder that answers at
once, so what is timed is everything the gateway adds to a hop: finding the operation, the
correlation id and traceparent, the token check (cached), the rate limit (memory), the version,
scope and body checks, the headers both ways, the metrics and the audit record. CPU time over
many calls in one process is steady on a shared machine, unlike the socket benchmarks
(gateway.py), so this is the figure to watch when changing the policy.

Two operations of the committed marketplace v1 contract: a GET (order status) and a POST with a
~1 KB JSON body validated against the contract (order submission).
"""

from __future__ import annotations

import asyncio
import gc
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.gateway import ORDER as BENCH_ORDER
from gateway.app import GatewayApp, create_app
from gateway.clients import create_client
from gateway.settings import GatewaySettings

CALLS = 20_000
WARMUP = 2_000
ISSUER = "http://127.0.0.1:8000"  # loopback: authlib takes plain http only there
LIMITS = {tier: {"reads": "1000000000/minute", "writes": "1000000000/minute"} for tier in ("standard", "internal")}
#: The gateway benchmark's order, with eight lines (~1 KB of JSON).
ORDER = {
    **BENCH_ORDER,
    "order_items": [{**BENCH_ORDER["order_items"][0], "seller_sku": f"ACME-{n:03d}"} for n in range(8)],
}


class _Answering:
    """A forwarder whose service answers at once: only the gateway's own work is left."""

    async def forward(self, request: Any, send: Any, *, headers_down: Any, max_body: int | None) -> int:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": headers_down([(b"content-type", b"application/json"), (b"content-length", b"2")])
                + request.response_headers,
            }
        )
        await send({"type": "http.response.body", "body": b"{}", "more_body": False})
        return 200

    async def aclose(self) -> None:
        return None


def run() -> dict[str, Any]:
    return asyncio.run(_run())


async def _run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="interchange-bench-") as tmp:
        settings = GatewaySettings.load(
            "gateway",
            data_dir=Path(tmp),
            issuer=ISSUER,
            gateway_url=ISSUER,
            marketplace_url="http://marketplace.bench",
            rate_limits=LIMITS,
            log_json=True,
            log_level="warning",
        )
        app = create_app(settings, transport=httpx.MockTransport(lambda _: httpx.Response(500)))
        assert isinstance(app, GatewayApp)
        async with app.router.lifespan_context(app):
            token = await _token(app)
            assert app.proxy is not None
            app.proxy._forwarder = _Answering()  # type: ignore[assignment]  # bench-only swap
            body = json.dumps(ORDER).encode()
            rows = [
                await _measure(app, "GET order status", "GET", "/marketplace/v1/orders/MP-1", token),
                await _measure(app, "POST order (1 KB JSON)", "POST", "/marketplace/v1/orders", token, body),
            ]
    return {
        "title": "The gateway's own CPU per proxied call (in process, no sockets)",
        "rows": rows,
        "notes": [
            f"{CALLS} calls per row after {WARMUP} of warm-up, one process; CPU time (process_time) per call",
            "policy: token check (cached), rate limit (memory), sunset, scopes, body checks and schema validation, "
            "headers both ways, correlation id and traceparent, metrics, audit record (queued, and written: the "
            "timed run ends with the audit writer's flush)",
            "add the HTTP server (uvicorn) and client (aiohttp) hops to get the per-request cost gateway.py measures",
        ],
    }


async def _token(app: GatewayApp) -> str:
    client_id, secret = await create_client(
        app.state.db,
        client_id="bench-partner",
        kind="partner",
        partner_id="acme-market",
        channel="marketplace",
        scopes=["marketplace:orders.read", "marketplace:orders.write"],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        resp = await client.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
        resp.raise_for_status()
        return str(resp.json()["access_token"])


async def _measure(app: GatewayApp, name: str, method: str, path: str, token: str, body: bytes = b"") -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {token}".encode())]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    statuses: dict[int, int] = {}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses[message["status"]] = statuses.get(message["status"], 0) + 1

    def scope() -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": list(headers),
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }

    for _ in range(WARMUP):
        await app(scope(), receive, send)
    await app.state.audit.flush()
    statuses.clear()
    gc.collect()
    started = time.process_time()
    for _ in range(CALLS):
        await app(scope(), receive, send)
    # The calls never wait on I/O, so the audit writer has not run yet: its rows are part of the
    # cost (writing them in the warm-up's place would leave them out).
    await app.state.audit.flush()
    elapsed = time.process_time() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"{name}: the gateway answered {statuses}")
    return {"operation": name, "calls": CALLS, "gateway CPU µs/call": round(elapsed / CALLS * 1e6, 1)}
