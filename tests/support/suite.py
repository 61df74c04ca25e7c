"""The whole suite in one process: every service's real app, wired through one
``RoutingTransport`` by host name (``erp.test``, ``gateway.test``...), no ports.

Used by the integration tests (in pytest's event loop) and by the schemathesis contract tests
(inside ``SuiteASGI``, whose lifespan starts every app in schemathesis' own loop).
"""

from __future__ import annotations

import contextlib
import importlib
import secrets
import typing
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from interchange.bootstrap import load_secrets, register_clients
from interchange.services import ServiceInfo, available_services
from service_kit.http import RoutingTransport
from service_kit.settings import ServiceSettings


def host(name: str) -> str:
    return f"{name}.test"


def url(name: str) -> str:
    return f"https://{host(name)}"


#: Outside systems the suite stands in for: the storefront's admin API accepts every push.
STOREFRONT_ADMIN_HOST = "storefront-admin.test"
DEFAULT_OVERRIDES: dict[str, dict[str, Any]] = {
    "storefront": {"admin_url": f"https://{STOREFRONT_ADMIN_HOST}/admin/api/2024-01"},
}


def _accept_push(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"accepted": True})


def _settings_class(module: Any) -> type[ServiceSettings]:
    hint = typing.get_type_hints(module.create_app).get("settings")
    for candidate in typing.get_args(hint) or (hint,):
        if isinstance(candidate, type) and issubclass(candidate, ServiceSettings):
            return candidate
    return ServiceSettings


@dataclass
class InProcessSuite:
    apps: dict[str, FastAPI]
    transport: RoutingTransport
    secrets: dict[str, str]

    def client(self, name: str, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, base_url=url(name), **kwargs)

    async def token(self, client_id: str, scope: str | None = None) -> str:
        data = {"grant_type": "client_credentials"}
        if scope:
            data["scope"] = scope
        async with self.client("gateway") as gw:
            resp = await gw.post("/oauth2/token", data=data, auth=(client_id, self.secrets[client_id]))
            resp.raise_for_status()
            return str(resp.json()["access_token"])


def build_apps(data_dir: Path, known: dict[str, str], transport: RoutingTransport, **extra: Any) -> dict[str, FastAPI]:
    apps: dict[str, FastAPI] = {}
    services: list[ServiceInfo] = available_services()
    urls = {f"{s.name}_url": url(s.name) for s in services}
    for info in services:
        module = importlib.import_module(f"{info.package}.app")
        settings_cls = _settings_class(module)
        overrides: dict[str, Any] = {
            **{k: v for k, v in urls.items() if k in settings_cls.model_fields},
            "data_dir": data_dir,
            "seed_demo": True,
            "log_json": False,
            "log_level": "warning",
            "gateway_url": url("gateway"),
            "issuer": url("gateway"),
            **DEFAULT_OVERRIDES.get(info.name, {}),
            **extra.get(info.name, {}),
        }
        if info.client_scopes:
            overrides |= {"client_id": info.client_id, "client_secret": known[info.client_id]}
        settings = settings_cls.load(info.name, **overrides)
        app = module.create_app(settings, transport=transport)
        apps[info.name] = app
        transport.routes[host(info.name)] = httpx.ASGITransport(app=app)
    return apps


@contextlib.asynccontextmanager
async def running_suite(data_dir: Path, **extra: Any) -> AsyncIterator[InProcessSuite]:
    """Start every app's lifespan (gateway first) and register the suite's OAuth clients."""
    known = load_secrets(data_dir)  # persisted, so a restarted suite keeps its clients' secrets
    transport = RoutingTransport({STOREFRONT_ADMIN_HOST: httpx.MockTransport(_accept_push)})
    apps = build_apps(data_dir, known, transport, **extra)
    async with contextlib.AsyncExitStack() as stack:
        gateway = apps["gateway"]
        await stack.enter_async_context(gateway.router.lifespan_context(gateway))
        await register_clients(gateway.state.db, known)
        for name, app in apps.items():
            if name != "gateway":
                await stack.enter_async_context(app.router.lifespan_context(app))
        yield InProcessSuite(apps, transport, known)


class SuiteASGI:
    """One ASGI app for schemathesis: its lifespan runs the whole in-process suite; its HTTP
    requests go to one target service. ``token`` is a gateway-issued token for a test client
    granted every scope the target's operations need."""

    def __init__(self, data_dir: Path, target: str, scopes: list[str]) -> None:
        self.data_dir = data_dir
        self.target = target
        self.scopes = scopes
        self.token = ""
        self.secret = secrets.token_urlsafe(32)
        self.suite: InProcessSuite | None = None
        self._stack: contextlib.AsyncExitStack | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert self.suite is not None, "the suite's lifespan has not run"
        await self.suite.apps[self.target](scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._stack = contextlib.AsyncExitStack()
                self.suite = await self._stack.enter_async_context(running_suite(self.data_dir))
                await self._register_tester()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._stack is not None:
                    await self._stack.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _register_tester(self) -> None:
        from gateway.clients import ensure_client

        assert self.suite is not None
        secret = self.secret
        self.suite.secrets["contract-tester"] = secret
        await ensure_client(
            self.suite.apps["gateway"].state.db,
            client_id="contract-tester",
            secret=secret,
            kind="internal",
            partner_id=None,
            channel=None,
            scopes=self.scopes,
            tier="internal",
        )
        self.token = await self.suite.token("contract-tester")


def authenticate_with(schema: Any, app: Any) -> None:
    """Schemathesis sends ``app.token`` (a gateway-issued token, set when the suite starts) as the
    bearer token of every generated request."""

    @schema.auth()
    class GatewayToken:
        def get(self, case: Any, ctx: Any) -> str:
            return str(app.token)

        def set(self, case: Any, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
