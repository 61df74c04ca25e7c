"""The gateway in process over a recording fake marketplace (the fixtures of the gateway's unit
tests), for attacks that must be refused before anything reaches a service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service_kit.http import RoutingTransport
from tests.unit.gateway.conftest import FakeService, Gateway, contracts_dir, gateway_settings, running_gateway

__all__ = ["contracts_dir"]


@pytest.fixture
def marketplace() -> FakeService:
    return FakeService()


@pytest.fixture
async def gateway(tmp_path: Path, contracts_dir: Path, marketplace: FakeService) -> AsyncIterator[Gateway]:
    transport = RoutingTransport({"marketplace.test": httpx.ASGITransport(app=marketplace)})
    async with running_gateway(gateway_settings(tmp_path, contracts_dir), transport) as gw:
        yield gw
