"""``interchange inventory availability SKU`` asks the inventory service over HTTP with an ops token
(``GET /v1/channels``, then each channel's availability), never its database: every configured
channel's value, and a SKU with no known stock as one plain line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from interchange import admin_client
from process_apis.inventory.app import create_app
from process_apis.inventory.settings import InventorySettings, default_channels
from tests.support.tokens import bearer, mint_token, static_verifier
from tests.unit.interchange.admin_support import LoopBridge, token_endpoint
from tests.unit.interchange.cli_support import isolate, run
from tests.unit.process_apis.test_inventory_support import apply, moved

ENV = {
    "INTERCHANGE_INVENTORY_URL": "http://inventory.test",
    "INTERCHANGE_GATEWAY_URL": "http://gateway.test",
    "INTERCHANGE_OPS_CLIENT_ID": "ops-cli",
    "INTERCHANGE_OPS_CLIENT_SECRET": "s3cret",
    "COLUMNS": "200",
}


@pytest.fixture
async def inventory(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = InventorySettings.load(
        "inventory",
        data_dir=tmp_path / "inventory",
        log_json=False,
        wms_url="http://wms.test",
        erp_url="http://erp.test",
        client_id="",
        client_secret="",
        workers_enabled=False,
    )
    app = create_app(settings, transport=httpx.MockTransport(lambda _: httpx.Response(503)), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        await apply(app.state.db, moved("WIDGET-BLUE", "WH-EAST", on_hand=10, version=1))
        yield app


@pytest.fixture
async def cli(inventory: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    isolate(monkeypatch)

    def mint(client_id: str, secret: str) -> str | None:
        return mint_token("inventory:read", client_id=client_id, kind="internal") if secret == "s3cret" else None

    routes = {"inventory.test": httpx.ASGITransport(app=inventory), "gateway.test": token_endpoint(mint)}
    monkeypatch.setattr(admin_client, "transport", LoopBridge(asyncio.get_running_loop(), routes))

    async def invoke(*args: str) -> Any:
        return await asyncio.to_thread(run, tmp_path / "var", *args, env=ENV)

    return invoke


async def test_every_channel_is_listed_with_its_rule(inventory: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=inventory), base_url="http://inventory.test") as c:
        listed = await c.get("/v1/channels", headers=bearer("inventory:read"))
        refused = await c.get("/v1/channels", headers=bearer("orders:read"))

    assert listed.status_code == 200, listed.text
    rules = default_channels()
    assert [c["channel"] for c in listed.json()["items"]] == sorted(rules)
    first = listed.json()["items"][0]
    assert first["share_percent"] == rules[first["channel"]].share_percent
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"


async def test_the_cli_shows_every_channels_availability_over_http(cli: Any, tmp_path: Path) -> None:
    as_json = await cli("inventory", "availability", "WIDGET-BLUE", "--json")
    table = await cli("inventory", "availability", "WIDGET-BLUE")

    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.stdout)
    assert sorted(r["channel"] for r in rows) == sorted(default_channels())
    assert {r["sku"] for r in rows} == {"WIDGET-BLUE"}
    assert table.exit_code == 0 and "Availability of WIDGET-BLUE" in table.stdout
    assert all(f" {channel} " in table.stdout for channel in default_channels())
    assert not (tmp_path / "var").exists()  # no database opened or created


async def test_a_sku_with_no_known_stock_is_one_plain_line(cli: Any) -> None:
    result = await cli("inventory", "availability", "NOPE-1")

    assert result.exit_code == 0
    assert "no stock of NOPE-1 is known" in result.stdout
