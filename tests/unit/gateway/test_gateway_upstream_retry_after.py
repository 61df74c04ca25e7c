"""A service that is up but waiting on a system behind it answers 503 with Retry-After: the
gateway keeps both (its own problem, the service's body left behind), over both forwarders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.unit.gateway.conftest import FORWARDERS, FakeService, Gateway, gateway_over


@pytest.fixture(params=FORWARDERS)
async def gateway(
    request: pytest.FixtureRequest, tmp_path: Path, contracts_dir: Path, marketplace: FakeService
) -> AsyncIterator[Gateway]:
    async with gateway_over(request.param, tmp_path, contracts_dir, marketplace) as gw:
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
