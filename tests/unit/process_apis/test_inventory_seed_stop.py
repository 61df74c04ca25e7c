"""Inventory's one-off projection seed runs on the worker runtime: while the WMS and ERP are not
there yet it retries, and a stop ends it between two attempts, by itself (it used to be a plain
loop, cancelled from outside)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from process_apis.inventory.app import create_app
from process_apis.inventory.settings import InventorySettings
from process_apis.inventory.workers import seed_projection
from service_kit.workers import stop_event
from tests.support.tokens import static_verifier


@pytest.mark.timeout(30)
async def test_the_seed_retry_stops_between_attempts_while_the_tier_below_is_down(tmp_path: Path) -> None:
    asked: list[httpx.Request] = []

    def down(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(503, json={"title": "starting"})

    settings = InventorySettings.load(
        "inventory",
        data_dir=tmp_path,
        log_json=False,
        wms_url="http://wms.test",
        erp_url="http://erp.test",
        client_id="",
        client_secret="",
        workers_enabled=False,
    )
    app = create_app(settings, transport=httpx.MockTransport(down), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        seed = asyncio.create_task(seed_projection(app))
        while not asked:
            await asyncio.sleep(0.01)  # a poll: the mock transport has no hook to wait on
        stop_event(app).set()
        await asyncio.wait({seed}, timeout=10)  # the retry pause is cut short by the stop
        assert seed.done() and not seed.cancelled() and seed.exception() is None
