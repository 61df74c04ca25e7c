"""The fulfilment API in process with the tier below faked (``fulfillment_fakes``)."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from contracts.events.order_progress import OrderReleasedV1
from process_apis.fulfillment.app import create_app
from process_apis.fulfillment.settings import FulfillmentSettings
from process_apis.fulfillment.worker import on_order_released, process_pending
from service_kit.events.envelopes import new_event
from service_kit.events.outbox import OutboxRecord
from tests.support.tokens import bearer, static_verifier
from tests.unit.process_apis.fulfillment_fakes import FakeBelow, order

_keys = itertools.count(1)
PARTNER = "northwind-3pl"


def settings_for(tmp_path: Path, **overrides: Any) -> FulfillmentSettings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "log_json": False,
        "erp_url": "http://erp.test",
        "wms_url": "http://wms.test",
        "crm_url": "http://crm.test",
        "orders_url": "http://orders.test",
        "client_id": "",
        "client_secret": "",
        "worker_enabled": False,
        "worker_concurrency": 2,
        "retry_backoff_initial": 0.0,
        "retry_backoff_max": 0.0,
        "retry_max_attempts": 3,
        "breaker_threshold": 100,
        "warehouse_partners": {"WH-3PL": PARTNER},
    }
    return FulfillmentSettings.load("fulfillment", **(values | overrides))


def headers(
    *scopes: str, partner: str | None = None, client_id: str = "svc-partners", key: bool = True
) -> dict[str, str]:
    found = bearer(*scopes, client_id=client_id)
    if partner:
        found["X-Interchange-Partner"] = partner
    if key:
        found["Idempotency-Key"] = f"k-{next(_keys)}"
    return found


def asn(request_id: str, shipment_id: str, *lines: tuple[int, str, str], order_id: str = "ord_1") -> dict[str, Any]:
    return {
        "shipment_id": shipment_id,
        "request_id": request_id,
        "order_id": order_id,
        "warehouse": "WH-3PL",
        "carrier": "DHL",
        "tracking_number": f"TRK-{shipment_id}",
        "tracking_url": f"https://track.example/{shipment_id}",
        "shipped_at": "2026-12-07T12:00:00Z",
        "lines": [{"line_no": n, "sku": sku, "quantity": {"value": qty, "unit": "EA"}} for n, sku, qty in lines],
    }


@dataclass
class Fulfillment:
    app: FastAPI
    client: httpx.AsyncClient
    below: FakeBelow

    async def release(self, order_id: str = "ord_1", **changes: Any) -> None:
        """The orders process released ``order_id`` (known below): its event, consumed."""
        self.below.orders[order_id] = order(order_id, **changes)
        event = new_event(
            data=OrderReleasedV1(
                order_id=order_id, channel="marketplace", channel_order_id=f"MP-{order_id}", partner="acme-market"
            ),
            source="urn:interchange:process:orders",
            subject=order_id,
        )
        async with self.app.state.db.transaction() as session:
            await on_order_released(session=session, event=event)
        await self.run()

    async def run(self, passes: int = 6) -> None:
        for _ in range(passes):
            if not await process_pending(self.app):
                return

    async def requests(self, partner: str = PARTNER) -> list[dict[str, Any]]:
        resp = await self.client.get("/v1/fulfillment-requests", headers=headers("fulfillment:read", partner=partner))
        assert resp.status_code == 200, resp.text
        return list(resp.json()["items"])

    async def ship(self, body: dict[str, Any], partner: str | None = PARTNER) -> httpx.Response:
        return await self.client.post("/v1/shipments", json=body, headers=headers("fulfillment:write", partner=partner))

    async def get(self, path: str, partner: str | None = None, scope: str = "fulfillment:read") -> httpx.Response:
        return await self.client.get(path, headers=headers(scope, partner=partner, key=False))

    async def post(
        self, path: str, body: Any, partner: str | None = None, scope: str = "fulfillment:write"
    ) -> httpx.Response:
        return await self.client.post(path, json=body, headers=headers(scope, partner=partner))

    async def events(self, kind: str) -> list[dict[str, Any]]:
        async with self.app.state.db.transaction() as session:
            rows = list(await session.scalars(select(OutboxRecord).order_by(OutboxRecord.seq)))
        return [json.loads(r.envelope)["data"] for r in rows if r.type == f"com.interchange.{kind}.v1"]


@pytest.fixture(name="fulfillment")
async def fulfillment_fixture(tmp_path: Path) -> AsyncIterator[Fulfillment]:
    """The app with its worker off (tests run passes with ``Fulfillment.run``)."""
    below = FakeBelow()
    app = create_app(settings_for(tmp_path), transport=below.transport(), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://fulfillment.test"
        ) as client:
            yield Fulfillment(app=app, client=client, below=below)
