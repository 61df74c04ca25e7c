"""The gateway in process: its app over a temporary database and a small contracts directory, a
fake marketplace service behind it, and helpers to register clients and get tokens."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from gateway.app import create_app
from gateway.clients import create_client
from gateway.settings import GatewaySettings
from service_kit.http import RoutingTransport

GATEWAY_URL = "http://gateway.test"
MARKETPLACE_URL = "http://marketplace.test"
PARTNER_SCOPES = ["marketplace:orders.write", "marketplace:orders.read"]

MARKETPLACE_V1 = """\
openapi: 3.1.0
info: {title: Marketplace, version: 1.0.0}
x-interchange-api: marketplace
x-interchange-service: marketplace
x-interchange-tier: experience
paths:
  /v1/orders:
    get:
      operationId: listOrders
      security: [{oauth2: [marketplace:orders.read]}]
      responses: {"200": {description: ok}}
    post:
      operationId: submitOrder
      security: [{oauth2: [marketplace:orders.write]}]
      responses: {"202": {description: accepted}}
  /v1/orders/{marketplace_order_id}:
    get:
      operationId: getOrder
      security: [{oauth2: [marketplace:orders.read]}]
      responses: {"200": {description: ok}}
  /v1/orders/export:
    get:
      operationId: exportOrders
      responses: {"200": {description: ok}}
"""

ORDERS_V1 = """\
openapi: 3.1.0
info: {title: Orders, version: 1.0.0}
x-interchange-api: orders
x-interchange-service: orders
x-interchange-tier: process
paths:
  /v1/orders:
    post: {operationId: createOrder, responses: {"202": {description: accepted}}}
"""

ERP_V1 = """\
openapi: 3.1.0
info: {title: ERP, version: 1.0.0}
x-interchange-api: erp
x-interchange-service: erp
x-interchange-tier: system
paths:
  /v1/items/{sku}:
    get: {operationId: getItem, responses: {"200": {description: ok}}}
"""


def write_contract(root: Path, api: str, version: str, text: str) -> Path:
    path = root / api / f"{version}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def contracts_dir(tmp_path: Path) -> Path:
    root = tmp_path / "contracts"
    write_contract(root, "marketplace", "v1", MARKETPLACE_V1)
    write_contract(root, "orders", "v1", ORDERS_V1)
    write_contract(root, "erp", "v1", ERP_V1)
    return root


def gateway_settings(data_dir: Path, contracts_dir: Path | None, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "contracts_dir": contracts_dir,
        "issuer": GATEWAY_URL,
        "gateway_url": GATEWAY_URL,
        "marketplace_url": MARKETPLACE_URL,
        "orders_url": "http://orders.test",
        "erp_url": "http://erp.test",
        "log_json": False,
        "log_level": "warning",
    }
    return GatewaySettings.load("gateway", **(values | overrides))


@dataclass
class Seen:
    """One request as the fake service received it."""

    method: str
    path: str
    raw_path: bytes
    query: bytes
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]


@dataclass
class FakeService:
    """A raw ASGI service that records every request and answers what it is told to."""

    status: int = 200
    headers: list[tuple[bytes, bytes]] = field(default_factory=lambda: [(b"content-type", b"application/json")])
    body: bytes = b'{"ok": true}'
    seen: list[Seen] = field(default_factory=list)

    #: Seconds to wait before answering (a slow service).
    delay: float = 0.0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the request was aborted (over a socket): a service sees nothing whole
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if self.delay:
            await asyncio.sleep(self.delay)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        self.seen.append(Seen(scope["method"], scope["path"], scope["raw_path"], scope["query_string"], headers, body))
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


@dataclass
class Gateway:
    app: FastAPI
    client: httpx.AsyncClient
    #: The Host the fake marketplace sees.
    upstream_host: str = "marketplace.test"

    async def register(self, **kwargs: Any) -> tuple[str, str]:
        return await create_client(self.app.state.db, **kwargs)

    async def register_partner(self, partner_id: str = "acme-market", **kwargs: Any) -> tuple[str, str]:
        return await self.register(
            client_id=partner_id,
            kind="partner",
            partner_id=partner_id,
            channel="marketplace",
            scopes=PARTNER_SCOPES,
            **kwargs,
        )

    async def token(self, client_id: str, secret: str, scope: str | None = None) -> str:
        data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
        resp = await self.client.post("/oauth2/token", data=data, auth=(client_id, secret))
        assert resp.status_code == 200, resp.text
        return str(resp.json()["access_token"])

    async def partner_bearer(self) -> dict[str, str]:
        client_id, secret = await self.register_partner()
        return {"Authorization": f"Bearer {await self.token(client_id, secret)}"}

    async def scrape(self) -> str:
        """``/metrics``, as an operator reads it: an internal client's token with the ops scope."""
        client_id, secret = await self.register(client_id="ops-metrics", kind="internal", scopes=["ops"])
        headers = {"Authorization": f"Bearer {await self.token(client_id, secret)}"}
        resp = await self.client.get("/metrics", headers=headers)
        assert resp.status_code == 200, resp.text
        return resp.text

    async def jwks(self) -> dict[str, Any]:
        resp = await self.client.get("/.well-known/jwks.json")
        assert resp.status_code == 200
        return dict(resp.json())


@contextlib.asynccontextmanager
async def running_gateway(
    settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[Gateway]:
    app = create_app(settings, transport=transport)
    async with app.router.lifespan_context(app):
        asgi = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=asgi, base_url=GATEWAY_URL) as client:
            yield Gateway(app, client)


@contextlib.asynccontextmanager
async def serving(app: Any, **options: Any) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a free port of 127.0.0.1, in this event loop; its base URL.
    ``options`` go to ``uvicorn.Config`` (e.g. ``proxy_headers=False``)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False, ws="none", **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def serving_granian(app: Any) -> AsyncIterator[str]:
    """``app`` served by granian embedded in this event loop, as ``interchange up`` serves the
    gateway (``python -m gateway.serve``); its base URL. Lifespan is the caller's."""
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = Server(app, port=port, interface=Interfaces.ASGINL, websockets=False, log_level=LogLevels.error)
    task = asyncio.create_task(server.serve())
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as probe:
        while True:
            if task.done():
                task.result()  # raises what stopped it
            try:
                await probe.get(url + "/health/live")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.02)
    try:
        yield url
    finally:
        server.stop()
        await task


#: The two forwarders (forward.py): the in-process suite's httpx transport, and pyreqwest over real
#: sockets to a service served by uvicorn, as a deployed gateway runs.
FORWARDERS = ["httpx-transport", "sockets"]


@contextlib.asynccontextmanager
async def gateway_over(
    forwarder: str, tmp_path: Path, contracts_dir: Path, marketplace: FakeService, **overrides: Any
) -> AsyncIterator[Gateway]:
    """The gateway in front of ``marketplace`` over one of FORWARDERS; ``overrides`` go to its settings."""
    if forwarder == "httpx-transport":
        transport = RoutingTransport({"marketplace.test": httpx.ASGITransport(app=marketplace)})
        async with running_gateway(gateway_settings(tmp_path, contracts_dir, **overrides), transport) as gw:
            yield gw
        return
    async with serving(marketplace) as url:
        settings = gateway_settings(tmp_path, contracts_dir, marketplace_url=url, **overrides)
        async with running_gateway(settings) as gw:
            gw.upstream_host = url.removeprefix("http://")
            yield gw


@pytest.fixture
def marketplace() -> FakeService:
    return FakeService()


@pytest.fixture
async def gateway(tmp_path: Path, contracts_dir: Path, marketplace: FakeService) -> AsyncIterator[Gateway]:
    transport = RoutingTransport({"marketplace.test": httpx.ASGITransport(app=marketplace)})
    async with running_gateway(gateway_settings(tmp_path, contracts_dir), transport) as gw:
        yield gw
