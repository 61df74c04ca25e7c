"""The orders API in process, with the tier below faked (tests/unit/process_apis/orders_fakes.py)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina
from fastapi import FastAPI

from process_apis.orders.app import create_app
from process_apis.orders.settings import OrdersSettings
from tests.support.tokens import bearer, static_verifier
from tests.unit.process_apis.orders_fakes import FakeTier

_keys = itertools.count(1)


def order_body(channel_order_id: str = "MP-1001", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "marketplace",
        "channel_order_id": channel_order_id,
        "customer_id": "C-1001",
        "currency": "EUR",
        "ship_to": {
            "name": "Jane Doe",
            "line1": "Damrak 1",
            "city": "Amsterdam",
            "postal_code": "1012 LG",
            "country": "NL",
        },
        "lines": [{"sku": "WIDGET-BLUE", "quantity": {"value": "2", "unit": "EA"}}],
    }
    body.update(changes)
    return body


def line(sku: str, quantity: str = "1") -> dict[str, Any]:
    return {"sku": sku, "quantity": {"value": quantity, "unit": "EA"}}


def as_service(
    *scopes: str, partner: str | None = "acme-market", key: str | None = None, client_id: str = "svc-marketplace"
) -> dict[str, str]:
    """Headers of the marketplace service acting for ``partner``, with a fresh Idempotency-Key."""
    headers = bearer(*(scopes or ("orders:write", "orders:read")), client_id=client_id)
    if partner:
        headers["X-Interchange-Partner"] = partner
    headers["Idempotency-Key"] = key or f"test-key-{next(_keys)}"
    return headers


@dataclass
class Orders:
    app: FastAPI
    client: httpx.AsyncClient
    tier: FakeTier

    async def submit(self, body: dict[str, Any] | None = None, **headers: Any) -> httpx.Response:
        return await self.client.post("/v1/orders", json=body or order_body(), headers=as_service(**headers))

    async def get(self, order_id: str, partner: str | None = "acme-market") -> httpx.Response:
        return await self.client.get(f"/v1/orders/{order_id}", headers=as_service("orders:read", partner=partner))

    async def cancel(self, order_id: str, reason: str = "changed my mind", **headers: Any) -> httpx.Response:
        return await self.client.post(
            f"/v1/orders/{order_id}/cancel", json={"reason": reason}, headers=as_service(**headers)
        )

    async def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = as_service("orders:admin", partner=None, client_id="ops-console")
        return await self.client.request(method, f"/v1/admin{path}", headers=headers, **kwargs)

    async def status(self, order_id: str) -> str:
        return str((await self.get(order_id, partner=None)).json()["status"])

    async def find(self, partner: str | None = None, **params: Any) -> list[dict[str, Any]]:
        resp = await self.client.get("/v1/orders", params=params, headers=as_service("orders:read", partner=partner))
        assert resp.status_code == 200, resp.text
        return list(resp.json()["items"])


@pytest.fixture(autouse=True)
def _no_retry_waits() -> Iterator[None]:
    with stamina.set_testing(True, attempts=2):
        yield


def orders_settings(tmp_path: Path, **overrides: Any) -> OrdersSettings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "log_json": False,
        "erp_url": "http://erp.test",
        "wms_url": "http://wms.test",
        "crm_url": "http://crm.test",
        "client_id": "",
        "client_secret": "",
        "worker_enabled": False,
        "worker_concurrency": 1,
        "retry_backoff_initial": 30.0,
        "retry_max_attempts": 3,
        "breaker_threshold": 100,
    }
    return OrdersSettings.load("orders", **(values | overrides))


@pytest.fixture
def tier() -> FakeTier:
    return FakeTier.demo()


@pytest.fixture
def worker_enabled() -> bool:
    return False


@pytest.fixture
async def orders(tmp_path: Path, tier: FakeTier, worker_enabled: bool) -> AsyncIterator[Orders]:
    settings = orders_settings(tmp_path, worker_enabled=worker_enabled, worker_poll_interval=60.0)
    app = create_app(settings, transport=tier.transport(), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders.test") as client:
            yield Orders(app=app, client=client, tier=tier)
