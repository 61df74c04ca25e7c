"""A service that is up but waiting on a system behind it answers 503 with Retry-After: the
gateway keeps both (its own problem, the service's body left behind), over both forwarders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service_kit.http import RoutingTransport
from tests.unit.gateway.conftest import FakeService, Gateway, gateway_settings, running_gateway, serving


@pytest.fixture(params=["httpx-transport", "aiohttp-sockets"])
async def gateway(
    request: pytest.FixtureRequest, tmp_path: Path, contracts_dir: Path, marketplace: FakeService
) -> AsyncIterator[Gateway]:
    if request.param == "httpx-transport":
        transport = RoutingTransport({"marketplace.test": httpx.ASGITransport(app=marketplace)})
        async with running_gateway(gateway_settings(tmp_path, contracts_dir), transport) as gw:
            yield gw
        return
    async with serving(marketplace) as url:
        async with running_gateway(gateway_settings(tmp_path, contracts_dir, marketplace_url=url)) as gw:
            yield gw


async def test_a_503_with_retry_after_reaches_the_partner_as_503_with_retry_after(
    gateway: Gateway, marketplace: FakeService
) -> None:
    marketplace.status = 503
    marketplace.headers = [(b"content-type", b"application/problem+json"), (b"retry-after", b"12")]
    marketplace.body = b'{"type": "urn:interchange:problem:upstream-unavailable", "detail": "erp at 10.0.3.7 down"}'

    resp = await gateway.client.get("/marketplace/v1/orders", headers=await gateway.partner_bearer())

    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "12"
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["type"] == "urn:interchange:problem:upstream-unavailable"
    assert "10.0.3.7" not in resp.text
