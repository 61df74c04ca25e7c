"""GET /v1/availability/{sku}/warehouses (issue 12, the B2B channel): what a channel may take from
each warehouse its rule counts (its share, cap and the item's safety stock applied), beside its total."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from process_apis.inventory.app import create_app
from process_apis.inventory.settings import ChannelRule, InventorySettings
from tests.support.tokens import bearer, static_verifier
from tests.unit.process_apis.test_inventory_support import apply, item_changed, moved

RULES = {
    "b2b": ChannelRule(),
    "marketplace": ChannelRule(warehouses=("AMS", "RTM"), share_percent=80, cap=40),
}


@pytest.fixture
async def inventory(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = InventorySettings.load(
        "inventory", data_dir=tmp_path, log_json=False, client_id="", client_secret="", workers_enabled=False
    )
    settings = settings.model_copy(update={"channels": RULES})
    app = create_app(settings, transport=httpx.MockTransport(lambda _: httpx.Response(503)), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        await apply(
            app.state.db,
            item_changed("WIDGET-BLUE", safety=2, version=1),
            moved("WIDGET-BLUE", "RTM", on_hand=30, reserved=4, version=1),
            moved("WIDGET-BLUE", "AMS", on_hand=50, reserved=10, version=1),
            moved("WIDGET-BLUE", "FRA", on_hand=7, version=1),
        )
        yield app


async def get(app: FastAPI, path: str, *scopes: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://inventory.test") as c:
        return await c.get(path, headers=bearer(*(scopes or ("inventory:read",))))


def units(value: int) -> dict[str, str]:
    return {"value": str(value), "unit": "EA"}


async def test_every_warehouse_counts_for_b2b_less_reserved_and_safety_stock(inventory: FastAPI) -> None:
    resp = await get(inventory, "/v1/availability/WIDGET-BLUE/warehouses?channel=b2b")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "sku": "WIDGET-BLUE",
        "channel": "b2b",
        "available": units(38 + 24 + 5),
        "warehouses": [
            {"warehouse": "AMS", "available": units(38)},
            {"warehouse": "FRA", "available": units(5)},
            {"warehouse": "RTM", "available": units(24)},
        ],
    }


async def test_a_channel_sees_only_its_warehouses_with_its_share_and_cap(inventory: FastAPI) -> None:
    body = (await get(inventory, "/v1/availability/WIDGET-BLUE/warehouses?channel=marketplace")).json()
    assert body["available"] == units(40)  # 80% of AMS 38 + RTM 24 is 49, capped at 40; FRA does not count
    assert [(w["warehouse"], w["available"]["value"]) for w in body["warehouses"]] == [("AMS", "30"), ("RTM", "19")]


async def test_unknown_sku_channel_and_missing_scope_are_told(inventory: FastAPI) -> None:
    unknown = await get(inventory, "/v1/availability/NO-SUCH/warehouses?channel=b2b")
    no_channel = await get(inventory, "/v1/availability/WIDGET-BLUE/warehouses?channel=nope")
    no_scope = await get(inventory, "/v1/availability/WIDGET-BLUE/warehouses?channel=b2b", "inventory:write")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert no_channel.status_code == 422
    assert "b2b, marketplace" in no_channel.json()["detail"]
    assert no_scope.status_code == 403
