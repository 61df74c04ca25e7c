"""Stock is true on every channel, in process: a WMS receipt through its API ends as an
availability.changed event on the shared bus and a changed answer from the availability API; an
order accepted by the orders saga reserves stock, so marketplace availability drops."""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.suite import InProcessSuite, running_suite

ORDERS = {"worker_poll_interval": 0.2, "retry_backoff_initial": 0.05}
INVENTORY = {"coalesce_window": 0.05, "reconcile_interval": 0}


@pytest.fixture
async def suite(tmp_path: Path) -> AsyncIterator[InProcessSuite]:
    async with running_suite(tmp_path, orders=ORDERS, inventory=INVENTORY) as running:
        yield running


async def client(suite: InProcessSuite, name: str, client_id: str) -> httpx.AsyncClient:
    return suite.client(name, headers={"Authorization": f"Bearer {await suite.token(client_id)}"})


async def stock_clerk(suite: InProcessSuite, name: str) -> httpx.AsyncClient:
    """An internal client that books WMS movements and reads and reconciles availability."""
    from gateway.clients import ensure_client

    if "stock-clerk" not in suite.secrets:
        suite.secrets["stock-clerk"] = secrets.token_urlsafe(24)
        await ensure_client(
            suite.apps["gateway"].state.db,
            client_id="stock-clerk",
            secret=suite.secrets["stock-clerk"],
            kind="internal",
            partner_id=None,
            channel=None,
            scopes=["wms:write", "wms:read", "inventory:read", "inventory:write"],
            tier="internal",
        )
    return await client(suite, name, "stock-clerk")


async def available(api: httpx.AsyncClient, sku: str, channel: str) -> Any:
    resp = await api.get(f"/v1/availability/{sku}", params={"channel": channel})
    return resp.json()["available"]["value"] if resp.status_code == 200 else None


async def until(api: httpx.AsyncClient, sku: str, channel: str, value: str, *, tries: int = 400) -> None:
    """Bounded polling: the pipeline is asynchronous (outbox relay, bus, consumer, publisher)."""
    seen = None
    for _ in range(tries):
        seen = await available(api, sku, channel)
        if seen == value:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{sku} on {channel}: {seen}, expected {value}")


def availability_events(data_dir: Path, sku: str) -> list[dict[str, Any]]:
    with sqlite3.connect(data_dir / "events.db") as db:
        rows = db.execute(
            "SELECT envelope FROM event_log WHERE type = 'com.interchange.availability.changed.v1' ORDER BY log_offset"
        ).fetchall()
    return [e["data"] for e in (json.loads(r[0]) for r in rows) if e["data"]["sku"] == sku]


async def until_published(data_dir: Path, sku: str, channel: str, value: str) -> None:
    for _ in range(400):
        if any(e["channel"] == channel and e["available"] == value for e in availability_events(data_dir, sku)):
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"no availability.changed for {sku} on {channel} with {value}")


async def test_a_wms_receipt_reaches_the_bus_and_the_availability_api(suite: InProcessSuite, tmp_path: Path) -> None:
    async with await stock_clerk(suite, "inventory") as inventory, await stock_clerk(suite, "wms") as wms:
        await until(inventory, "GADGET-PRO", "marketplace", "9")  # seeded: floor(0.8 x 12)
        await until_published(tmp_path, "GADGET-PRO", "marketplace", "9")
        receipt = {
            "reference": "ASN-IT-1",
            "warehouse": "RTM",
            "lines": [{"sku": "GADGET-PRO", "quantity": {"value": "10", "unit": "EA"}}],
        }
        resp = await wms.post("/v1/receipts", json=receipt)
        assert resp.status_code == 201, resp.text
        assert resp.json()["items"][0]["on_hand"]["value"] == "22"
        assert (await wms.post("/v1/receipts", json=receipt)).status_code == 200  # once per reference

        await until(inventory, "GADGET-PRO", "marketplace", "17")
        await until(inventory, "GADGET-PRO", "b2b", "30")  # every warehouse: RTM 22 and WH-3PL 8
        await until(inventory, "GADGET-PRO", "storefront", "0")  # storefront sells from AMS only
        await until_published(tmp_path, "GADGET-PRO", "marketplace", "17")
        last = [e for e in availability_events(tmp_path, "GADGET-PRO") if e["channel"] == "marketplace"][-1]
        assert (last["available"], last["previous"]) == ("17", "9")

        report = (await inventory.post("/v1/reconciliations", json={"repair": False})).json()
        assert report["drift"] == []


async def test_an_accepted_order_reserves_stock_and_marketplace_availability_drops(
    suite: InProcessSuite, tmp_path: Path
) -> None:
    async with await stock_clerk(suite, "inventory") as inventory:
        await until(inventory, "WIDGET-BLUE", "marketplace", "100")  # 80 % of 140, capped at 100
        async with await client(suite, "orders", "svc-marketplace") as orders:
            body = {
                "channel": "b2b",
                "channel_order_id": "PO-INV-1",
                "customer_id": "C-1001",
                "currency": "EUR",
                "lines": [{"sku": "WIDGET-BLUE", "quantity": {"value": "30", "unit": "EA"}}],
            }
            resp = await orders.post("/v1/orders", json=body, headers={"Idempotency-Key": "b2b:PO-INV-1"})
            assert resp.status_code == 202, resp.text
        # AMS reserves 30: 70 + 40 free -> floor(0.8 x 110) = 88
        await until(inventory, "WIDGET-BLUE", "marketplace", "88")
        await until_published(tmp_path, "WIDGET-BLUE", "marketplace", "88")
        metrics = (await inventory.get("/metrics")).text
        assert "interchange_inventory_sync_lag_seconds_count" in metrics
