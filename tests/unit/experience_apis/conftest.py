"""The marketplace experience API in process, with the orders process API faked
(tests/unit/experience_apis/marketplace_fakes.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import stamina
from fastapi import FastAPI

from experience_apis.marketplace.app import create_app
from service_kit.http import RoutingTransport
from service_kit.settings import ServiceSettings
from tests.support.tokens import static_verifier
from tests.unit.experience_apis.marketplace_fakes import FakeOrdersApi


@dataclass
class Marketplace:
    app: FastAPI
    client: httpx.AsyncClient
    orders: FakeOrdersApi


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    with stamina.set_testing(True, attempts=2):
        yield


@pytest.fixture
async def marketplace(tmp_path: Path) -> AsyncIterator[Marketplace]:
    fake = FakeOrdersApi()
    settings = ServiceSettings.load(
        "marketplace",
        data_dir=tmp_path,
        seed_demo=True,
        log_json=False,
        orders_url="http://orders.test",
        client_id="",
        client_secret="",
    )
    transport = RoutingTransport({"orders.test": httpx.MockTransport(fake.handle)})
    app = create_app(settings, transport=transport, verifier=static_verifier())
    async with app.router.lifespan_context(app):
        asgi = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=asgi, base_url="http://marketplace.test") as client:
            yield Marketplace(app=app, client=client, orders=fake)
