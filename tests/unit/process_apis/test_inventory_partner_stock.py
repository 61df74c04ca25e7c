"""POST /v1/partner-stock-snapshots (issue 11): a 3PL's counts against the WMS figures the
inventory process holds for its warehouse; the drift per SKU answered and kept in the drift history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from process_apis.inventory.app import create_app
from process_apis.inventory.models import ReconcileRun
from process_apis.inventory.settings import InventorySettings
from tests.support.tokens import bearer, static_verifier
from tests.unit.process_apis.test_inventory_support import apply, moved


@pytest.fixture
async def inventory(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = InventorySettings.load(
        "inventory",
        data_dir=tmp_path / "inventory",
        log_json=False,
        client_id="",
        client_secret="",
        workers_enabled=False,
    )
    app = create_app(settings, transport=httpx.MockTransport(lambda _: httpx.Response(503)), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        await apply(
            app.state.db,
            moved("WIDGET-BLUE", "WH-3PL", on_hand=40, version=1),
            moved("CABLE-USB-C", "WH-3PL", on_hand=12, version=1),
            moved("GADGET-XL", "WH-3PL", on_hand=5, version=1),
            moved("WIDGET-BLUE", "WH-EAST", on_hand=99, version=1),
        )
        yield app


def snapshot(*lines: tuple[str, int], warehouse: str = "WH-3PL") -> dict[str, Any]:
    return {
        "partner_id": "northwind-3pl",
        "warehouse": warehouse,
        "counted_at": "2026-12-07T06:00:00Z",
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
    }


async def post(app: FastAPI, body: dict[str, Any], *scopes: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inventory.test") as c:
        return await c.post("/v1/partner-stock-snapshots", json=body, headers=bearer(*(scopes or ("inventory:write",))))


async def runs(app: FastAPI) -> list[tuple[str, int]]:
    async with app.state.db.sessions() as session:
        found = await session.execute(select(ReconcileRun.channel, ReconcileRun.drift))
        return [(channel, drift) for channel, drift in found]


async def test_each_counted_sku_is_compared_with_the_warehouse_on_hand_and_the_drift_is_recorded(
    inventory: FastAPI,
) -> None:
    resp = await post(inventory, snapshot(("WIDGET-BLUE", 40), ("CABLE-USB-C", 10), ("NEW-SKU", 3)))

    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["warehouse"] == "WH-3PL"
    assert [(i["sku"], i["counted"], i["wms_on_hand"], i["drift"]) for i in report["items"]] == [
        ("WIDGET-BLUE", 40, 40, 0),  # WH-EAST's 99 do not count for the 3PL's warehouse
        ("CABLE-USB-C", 10, 12, -2),
        ("NEW-SKU", 3, 0, 3),
    ]
    assert report["drifted"] == 2
    assert report["uncounted"] == ["GADGET-XL"]
    assert await runs(inventory) == [("stock:WH-3PL", 2)]
    found = inventory.state.inventory_metrics.drift_found.labels("stock:WH-3PL")._value.get()
    assert found == 2


async def test_a_sku_counted_twice_is_a_problem_and_nothing_is_recorded(inventory: FastAPI) -> None:
    resp = await post(inventory, snapshot(("WIDGET-BLUE", 40), ("WIDGET-BLUE", 41)))

    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "counted twice" in resp.text
    assert await runs(inventory) == []


async def test_it_needs_inventory_write(inventory: FastAPI) -> None:
    resp = await post(inventory, snapshot(("WIDGET-BLUE", 40)), "inventory:read")

    assert resp.status_code == 403
    assert await runs(inventory) == []


async def test_the_count_time_must_be_iso_text(inventory: FastAPI) -> None:
    resp = await post(inventory, snapshot(("WIDGET-BLUE", 40)) | {"counted_at": 0})

    assert resp.status_code == 422
    assert await runs(inventory) == []


async def test_a_count_must_be_a_whole_number_not_a_boolean(inventory: FastAPI) -> None:
    body = snapshot(("WIDGET-BLUE", 40))
    body["lines"][0]["quantity"] = False

    resp = await post(inventory, body)

    assert resp.status_code == 422
    assert await runs(inventory) == []
