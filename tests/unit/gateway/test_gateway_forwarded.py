"""Whose address a request comes from: the TCP peer's, unless the peer is one of the gateway's
``trusted_proxies``; an X-Forwarded-For from anyone else changes nothing (the token endpoint's
lockout key, the address sent up to the services)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from uvicorn.main import main as uvicorn_command

from interchange.launcher import proxy_header_flags, server_module
from service_kit.http import RoutingTransport
from tests.unit.gateway.conftest import (
    GATEWAY_URL,
    FakeService,
    Gateway,
    gateway_settings,
    running_gateway,
    serving,
    serving_granian,
)

GRANT = {"grant_type": "client_credentials"}
LIMITS = {"auth_failure_limit_per_address": "3/minute", "auth_failure_limit_per_client": "100/minute"}


@contextlib.asynccontextmanager
async def gateway_at(
    tmp_path: Path, contracts_dir: Path, marketplace: FakeService, **overrides: Any
) -> AsyncIterator[Gateway]:
    transport = RoutingTransport({"marketplace.test": httpx.ASGITransport(app=marketplace)})
    async with running_gateway(gateway_settings(tmp_path, contracts_dir, **(LIMITS | overrides)), transport) as gw:
        yield gw


@contextlib.asynccontextmanager
async def from_peer(gw: Gateway, host: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose TCP peer address is ``host``."""
    transport = httpx.ASGITransport(app=gw.app, client=(host, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=GATEWAY_URL) as client:
        yield client


def from_loopback(gw: Gateway) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
    """From 127.0.0.1: a local reverse proxy, or anyone on the host."""
    return from_peer(gw, "127.0.0.1")


async def spoofed_failures(client: httpx.AsyncClient, n: int) -> list[int]:
    """``n`` failed authentications, each claiming another address in X-Forwarded-For."""
    statuses = []
    for i in range(n):
        headers = {"X-Forwarded-For": f"198.51.100.{i + 1}"}
        resp = await client.post("/oauth2/token", data=GRANT, auth=(f"guess-{i}", "wrong"), headers=headers)
        statuses.append(resp.status_code)
    return statuses


def launched_proxy_headers(name: str) -> bool:
    """Whether uvicorn, started as ``interchange up`` starts service ``name``, believes proxy headers."""
    command = uvicorn_command.make_context("uvicorn", ["--factory", "x:y", *proxy_header_flags(name)])
    return bool(command.params["proxy_headers"])


def test_the_launcher_starts_the_gateway_with_the_servers_proxy_headers_off() -> None:
    assert launched_proxy_headers("gateway") is False
    assert launched_proxy_headers("marketplace") is True  # behind the gateway, which sets X-Forwarded-For


async def test_a_spoofed_x_forwarded_for_does_not_change_the_lockout_key(
    tmp_path: Path, contracts_dir: Path, marketplace: FakeService
) -> None:
    async with gateway_at(tmp_path, contracts_dir, marketplace) as gw, from_loopback(gw) as client:
        statuses = await spoofed_failures(client, 4)
        refused = await client.post("/oauth2/token", data=GRANT, headers={"X-Forwarded-For": "192.0.2.77"})

    assert statuses == [401, 401, 401, 429]  # every failure counted against 127.0.0.1
    assert "this address" in refused.json()["detail"]


async def test_over_real_sockets_as_launched_the_peer_address_counts(
    tmp_path: Path, contracts_dir: Path, marketplace: FakeService
) -> None:
    async with gateway_at(tmp_path, contracts_dir, marketplace) as gw:
        as_launched = launched_proxy_headers("gateway")
        async with serving(gw.app, proxy_headers=as_launched) as url, httpx.AsyncClient(base_url=url) as client:
            statuses = await spoofed_failures(client, 4)

    assert statuses == [401, 401, 401, 429]


async def test_on_granian_as_launched_the_peer_address_counts(
    tmp_path: Path, contracts_dir: Path, marketplace: FakeService
) -> None:
    assert server_module("gateway") == "gateway.serve"  # granian: how interchange up serves it
    async with gateway_at(tmp_path, contracts_dir, marketplace) as gw:
        async with serving_granian(gw.app) as url, httpx.AsyncClient(base_url=url) as client:
            statuses = await spoofed_failures(client, 4)

    assert statuses == [401, 401, 401, 429]


async def test_a_trusted_proxys_x_forwarded_for_is_the_callers_address(
    tmp_path: Path, contracts_dir: Path, marketplace: FakeService
) -> None:
    async with gateway_at(tmp_path, contracts_dir, marketplace, trusted_proxies=["127.0.0.1"]) as gw:
        bearer = await gw.partner_bearer()
        async with from_loopback(gw) as client:
            statuses = await spoofed_failures(client, 4)  # four callers behind the proxy, one failure each
            same_caller = await spoofed_failures(client, 4)
            headers = bearer | {"X-Forwarded-For": "203.0.113.9, 198.51.100.200", "X-Forwarded-Proto": "https"}
            proxied = await client.get("/marketplace/v1/orders", headers=headers)
        async with from_peer(gw, "192.0.2.50") as untrusted:  # any other peer: its X-Forwarded-For is ignored
            others = await spoofed_failures(untrusted, 4)

    assert statuses == [401, 401, 401, 401]
    assert same_caller == [401, 401, 401, 401]  # the second failure of each of four callers
    assert proxied.status_code == 200
    seen = marketplace.seen[-1]
    assert seen.header_values("x-forwarded-for") == ["198.51.100.200"]  # the proxy's last hop: the caller
    assert seen.header("x-forwarded-proto") == "https"
    assert others == [401, 401, 401, 429]
