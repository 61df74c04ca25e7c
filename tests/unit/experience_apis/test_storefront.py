"""Storefront inventory pushes: coalesced per SKU, paced, 429 + Retry-After honoured, retried,
dead letters listed and replayed. The storefront's admin API is faked behind httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.events import AvailabilityChangedV1
from contracts.scopes import STOREFRONT_ADMIN
from experience_apis.storefront import service
from experience_apis.storefront.app import create_app
from experience_apis.storefront.client import NAME as ADMIN_UPSTREAM
from experience_apis.storefront.client import StorefrontAdmin
from experience_apis.storefront.models import Base, PushStatus
from experience_apis.storefront.repository import StorefrontRepository
from experience_apis.storefront.seed import DEMO_ITEMS, seed_demo
from experience_apis.storefront.settings import StorefrontSettings
from service_kit.db import Database
from service_kit.events import new_event, open_bus
from service_kit.events.batch import apply_events
from service_kit.http import RoutingTransport, upstream_pacer
from tests.support.tokens import bearer, static_verifier

ADMIN_URL = "http://shop.test/admin/api/2024-01"


@dataclass
class FakeStorefront:
    """The storefront's admin API: records (monotonic time, body); answers from ``script`` first."""

    script: list[httpx.Response] = field(default_factory=list)
    calls: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/admin/api/2024-01/inventory_levels/set.json"
        assert "authorization" not in request.headers  # our gateway token never leaves

        self.calls.append((time.monotonic(), json.loads(request.content)))
        return self.script.pop(0) if self.script else httpx.Response(200, json={"inventory_level": {}})

    def levels(self) -> list[tuple[int, int]]:
        return [(body["inventory_item_id"], body["available"]) for _, body in self.calls]


@dataclass
class Pushes:
    db: Database
    admin: StorefrontAdmin
    shop: FakeStorefront
    http: httpx.AsyncClient

    async def level(self, sku: str, available: str, channel: str = "storefront") -> None:
        event = new_event(
            data=AvailabilityChangedV1(sku=sku, channel=channel, available=available), source="/inventory"
        )
        handler = service.availability_batch_handler(channel="storefront")
        await apply_events(db=self.db, group="storefront", events=[event], handler=handler)

    async def push(self, schedule: tuple[float, ...] = (0, 0)) -> None:
        for _ in range(10):
            if not await service.push_due(db=self.db, admin=self.admin, schedule=schedule):
                return

    async def status(self) -> Any:
        async with self.db.transaction() as session:
            return await service.sync_status(session=session, limit=10)


async def pushes_at(tmp_path: Path, rate: float) -> AsyncIterator[Pushes]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'storefront.db'}", metadata=[Base.metadata])
    await db.create_schema()
    await seed_demo(db)
    shop = FakeStorefront()
    async with httpx.AsyncClient(transport=httpx.MockTransport(shop.handle), timeout=5) as http:
        yield Pushes(
            db=db,
            admin=StorefrontAdmin(http, base_url=ADMIN_URL, token="shp", calls_per_second=rate),
            shop=shop,
            http=http,
        )
    await db.dispose()


@pytest.fixture
async def pushes(tmp_path: Path) -> AsyncIterator[Pushes]:
    async for p in pushes_at(tmp_path, rate=50):
        yield p


async def test_levels_coalesce_per_sku(pushes: Pushes) -> None:
    for level in ("5", "4", "3"):
        await pushes.level("WIDGET-BLUE", level)
    await pushes.level("GADGET-PRO", "7.9")
    await pushes.level("WIDGET-RED", "1", channel="marketplace")  # not this channel's stock
    await pushes.push()
    assert sorted(pushes.shop.levels()) == [(DEMO_ITEMS["WIDGET-BLUE"], 3), (DEMO_ITEMS["GADGET-PRO"], 7)]
    status = await pushes.status()
    assert (status.pending, status.synced, status.dead) == (0, 2, 0)


async def test_pushes_are_paced_at_the_rate_limit(tmp_path: Path) -> None:
    async for p in pushes_at(tmp_path, rate=10):
        for sku in DEMO_ITEMS:
            await p.level(sku, "2")
        await p.push()
        assert len(p.shop.calls) == len(DEMO_ITEMS)
        # Every push waited on the storefront's pacer, set to its rate limit: slots 0.1 s apart
        # (the pacer's spacing itself is tested on a fake clock in tests/unit/service_kit/test_pacer.py).
        assert upstream_pacer(p.http, ADMIN_UPSTREAM).interval == 0.1


async def test_a_429_is_waited_out_as_retry_after_says(pushes: Pushes, monkeypatch: pytest.MonkeyPatch) -> None:
    pushes.shop.script = [httpx.Response(429, headers={"Retry-After": "1"})]
    pacer = upstream_pacer(pushes.http, ADMIN_UPSTREAM)
    cooldowns: list[tuple[float, float]] = []  # (when, seconds), on the pacer's clock
    slots: list[float] = []
    cool_down, wait = pacer.cool_down, pacer.wait

    def recording_cool_down(seconds: float) -> None:
        cooldowns.append((pacer._clock(), seconds))
        cool_down(seconds)

    async def recording_wait() -> float:
        slots.append(await wait())
        return slots[-1]

    monkeypatch.setattr(pacer, "cool_down", recording_cool_down)
    monkeypatch.setattr(pacer, "wait", recording_wait)
    await pushes.level("CABLE-USB-C", "12")
    await pushes.push()
    assert pushes.shop.levels() == [(DEMO_ITEMS["CABLE-USB-C"], 12)] * 2
    [(when, seconds)] = cooldowns
    assert seconds == 1.0  # as Retry-After said
    assert len(slots) == 2 and slots[1] >= when + seconds  # the retry was held until the cooldown ended
    assert (await pushes.status()).synced == 1


async def test_failures_retry_then_park_and_replay_delivers(pushes: Pushes) -> None:
    pushes.shop.script = [httpx.Response(422, json={"errors": "bad"})] * 3
    await pushes.level("WIDGET-RED", "4")
    await pushes.level("NOT-IN-SHOP", "9")
    await pushes.push(schedule=(0, 0))
    assert len(pushes.shop.calls) == 3  # the first try and two retries
    status = await pushes.status()
    assert status.dead == 2 and {d.sku for d in status.dead_letters} == {"WIDGET-RED", "NOT-IN-SHOP"}
    assert any("no storefront item" in (d.last_error or "") for d in status.dead_letters)

    async with pushes.db.transaction() as session:
        await service.replay_push(session=session, sku="WIDGET-RED", actor="ops-alice", reason="retry")
    await pushes.push()
    assert pushes.shop.levels()[-1] == (DEMO_ITEMS["WIDGET-RED"], 4)
    assert (await pushes.status()).synced == 1


async def test_the_app_consumes_pushes_and_reports(tmp_path: Path) -> None:
    shop = FakeStorefront()
    settings = StorefrontSettings.load(
        "storefront", data_dir=tmp_path, seed_demo=True, log_json=False, admin_url=ADMIN_URL, push_poll_seconds=0.05
    )
    app = create_app(
        settings,
        transport=RoutingTransport({"shop.test": httpx.MockTransport(shop.handle)}),
        verifier=static_verifier(),
    )
    async with app.router.lifespan_context(app):
        bus = open_bus(settings=settings)
        try:
            data = AvailabilityChangedV1(sku="WIDGET-BLUE", channel="storefront", available="8")
            await bus.publish(events=[new_event(data=data, source="/inventory")])
        finally:
            await bus.close()
        for _ in range(100):  # bounded polling: the consumer and the pusher run in the background
            if shop.calls:
                break
            await asyncio.sleep(0.05)
        assert shop.levels() == [(DEMO_ITEMS["WIDGET-BLUE"], 8)]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sf.test") as client:
            assert (await client.get("/v1/sync-status", headers=bearer())).status_code == 403
            resp = await client.get("/v1/sync-status", headers=bearer(STOREFRONT_ADMIN))
            for _ in range(50):
                if resp.json()["synced"] == 1:
                    break
                await asyncio.sleep(0.05)
                resp = await client.get("/v1/sync-status", headers=bearer(STOREFRONT_ADMIN))
            assert resp.json() == {"pending": 0, "synced": 1, "dead": 0, "dead_letters": []}
            replay = await client.post("/v1/inventory-pushes/WIDGET-BLUE/replay", headers=bearer(STOREFRONT_ADMIN))
            assert replay.status_code == 409


async def test_a_replay_answers_202_with_the_json_its_contract_promises(tmp_path: Path) -> None:
    settings = StorefrontSettings.load(
        "storefront", data_dir=tmp_path, seed_demo=True, log_json=False, admin_url=ADMIN_URL, push_poll_seconds=3600
    )
    app = create_app(settings, transport=httpx.MockTransport(FakeStorefront().handle), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with app.state.db.transaction() as session:
            await StorefrontRepository(session).want_levels(levels={"NOT-IN-SHOP": 9}, now=datetime.now(UTC))
            row = await StorefrontRepository(session).push("NOT-IN-SHOP")
            assert row is not None
            row.status = PushStatus.dead
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sf.test") as client:
            replay = await client.post("/v1/inventory-pushes/NOT-IN-SHOP/replay", headers=bearer(STOREFRONT_ADMIN))
    assert replay.status_code == 202
    assert replay.headers["content-type"] == "application/json"
    body = replay.json()
    assert {k: body[k] for k in ("sku", "available", "status")} == {
        "sku": "NOT-IN-SHOP",
        "available": 9,
        "status": "pending",
    }
    assert (body["replayed_by"], body["reason"]) == ("test-client", None)
