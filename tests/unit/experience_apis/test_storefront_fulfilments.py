"""Storefront fulfilments: a shipment of a storefront order pushed to the shop once, with carrier and
tracking; a redelivered event or a second event of the same shipment pushes nothing more; a refused
push is retried on the schedule, then dead; another channel's shipment is ignored; a retry after a
lost answer takes the fulfilment that landed instead of creating a second. The shop's admin API is
faked behind httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from contracts.events import CloudEvent, ShipmentConfirmedV1
from contracts.scopes import STOREFRONT_ADMIN
from experience_apis.storefront import fulfilments
from experience_apis.storefront.app import create_app
from experience_apis.storefront.client import StorefrontAdmin
from experience_apis.storefront.models import Base, FulfilmentPush, FulfilmentReplayRecord, PushStatus
from experience_apis.storefront.settings import StorefrontSettings
from service_kit.db import Database
from service_kit.events import new_event, open_bus
from service_kit.events.consumer import Outcome, apply_event
from service_kit.http import RoutingTransport
from tests.support.tokens import bearer, static_verifier

ADMIN_URL = "http://shop.test/admin/api/2024-01"


@dataclass
class FakeShop:
    """The shop's fulfilment endpoints: keeps what it took; answers POSTs from ``script`` first
    (a scripted 5xx may still keep the fulfilment: ``keep_on_failure``)."""

    script: list[int] = field(default_factory=list)
    keep_on_failure: bool = False
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    kept: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    gets: int = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers  # our gateway token never leaves
        order_id = request.url.path.split("/orders/")[1].split("/")[0]
        if request.method == "GET":
            self.gets += 1
            return httpx.Response(200, json={"fulfillments": self.kept.get(order_id, [])})
        body = json.loads(request.content)["fulfillment"]
        self.posts.append((order_id, body))
        status = self.script.pop(0) if self.script else 201
        if status < 300 or self.keep_on_failure:
            self.kept.setdefault(order_id, []).append({"id": len(self.posts), **body})
        if status >= 300:
            return httpx.Response(status, json={"errors": "not today"})
        return httpx.Response(201, json={"fulfillment": {"id": len(self.posts), **body}})


@dataclass
class Shipments:
    db: Database
    admin: StorefrontAdmin
    shop: FakeShop

    async def confirmed(self, event: CloudEvent) -> Outcome:
        handler = fulfilments.shipment_handler(channel="storefront")
        return await apply_event(db=self.db, group=fulfilments.GROUP, event=event, handler=handler)

    async def push(self, schedule: tuple[float, ...] = (0, 0)) -> None:
        for _ in range(10):
            if not await fulfilments.push_due(db=self.db, admin=self.admin, schedule=schedule):
                return

    async def rows(self) -> list[FulfilmentPush]:
        async with self.db.transaction() as session:
            return list((await session.scalars(select(FulfilmentPush))).all())


def shipment(shipment_id: str = "SHP-1", *, channel: str = "storefront", tracking: str = "1Z999") -> CloudEvent:
    data = ShipmentConfirmedV1.model_validate(
        {
            "shipment_id": shipment_id,
            "order_id": "ord_1",
            "channel": channel,
            "channel_order_id": "1001",
            "partner": "storefront",
            "warehouse": "WH-3PL",
            "carrier": "UPS",
            "tracking_number": tracking,
            "tracking_url": f"https://ups.example/track/{tracking}",
            "lines": [
                {"line_no": 1, "sku": "WIDGET-RED", "quantity": "2", "unit": "EA"},
                {"line_no": 2, "sku": "GADGET-PRO", "quantity": "1", "unit": "EA"},
            ],
            "invoice_number": "INV-000001",
        }
    )
    return new_event(data=data, source="/fulfillment", subject=f"shipment/{shipment_id}")


@pytest.fixture
async def shipments(tmp_path: Path) -> AsyncIterator[Shipments]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'storefront.db'}", metadata=[Base.metadata])
    await db.create_schema()
    shop = FakeShop()
    async with httpx.AsyncClient(transport=httpx.MockTransport(shop.handle), timeout=5) as http:
        yield Shipments(
            db=db, admin=StorefrontAdmin(http, base_url=ADMIN_URL, token="shp", calls_per_second=50), shop=shop
        )
    await db.dispose()


async def test_a_shipment_is_pushed_once_with_its_tracking(shipments: Shipments) -> None:
    assert await shipments.confirmed(shipment()) == Outcome.applied
    await shipments.push()
    assert shipments.shop.posts == [
        (
            "1001",
            {
                "tracking_company": "UPS",
                "tracking_number": "1Z999",
                "tracking_url": "https://ups.example/track/1Z999",
                "line_items": [{"sku": "WIDGET-RED", "quantity": 2}, {"sku": "GADGET-PRO", "quantity": 1}],
                "notify_customer": True,
            },
        )
    ]
    [row] = await shipments.rows()
    assert (row.shipment_id, row.status, row.fulfillment_id, row.last_error) == ("SHP-1", PushStatus.synced, 1, None)


async def test_the_same_shipment_again_pushes_nothing_more(shipments: Shipments) -> None:
    event = shipment()
    await shipments.confirmed(event)
    await shipments.push()
    assert await shipments.confirmed(event) == Outcome.duplicate  # redelivered
    assert await shipments.confirmed(shipment(tracking="other")) == Outcome.applied  # a new event, same shipment id
    await shipments.push()
    assert len(shipments.shop.posts) == 1
    assert [row.shipment_id for row in await shipments.rows()] == ["SHP-1"]


async def test_a_refused_push_is_retried_then_dead(shipments: Shipments) -> None:
    shipments.shop.script = [422, 422, 422]
    await shipments.confirmed(shipment())
    await shipments.push(schedule=(0, 0))
    assert len(shipments.shop.posts) == 3  # the first try and the schedule's two retries
    [row] = await shipments.rows()
    assert (row.status, row.attempts) == (PushStatus.dead, 3)
    assert "422" in (row.last_error or "")


async def test_a_retry_takes_the_fulfilment_that_landed_instead_of_a_second(shipments: Shipments) -> None:
    shipments.shop.script, shipments.shop.keep_on_failure = [502], True  # kept, but the answer is a failure
    await shipments.confirmed(shipment())
    await shipments.push(schedule=(0,))
    assert len(shipments.shop.posts) == 1 and shipments.shop.gets == 1
    assert len(shipments.shop.kept["1001"]) == 1
    [row] = await shipments.rows()
    assert (row.status, row.fulfillment_id) == (PushStatus.synced, 1)


async def test_another_channels_shipment_is_ignored(shipments: Shipments) -> None:
    assert await shipments.confirmed(shipment(channel="marketplace")) == Outcome.applied
    await shipments.push()
    assert shipments.shop.posts == []
    assert await shipments.rows() == []


async def until(check: Callable[[], bool]) -> None:
    for _ in range(200):  # bounded polling: the consumer and the pusher run in the background
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not reached")


async def test_the_app_pushes_a_shipment_lists_a_dead_one_and_replays_it_audited(tmp_path: Path) -> None:
    shop = FakeShop(script=[422])
    settings = StorefrontSettings.load(
        "storefront",
        data_dir=tmp_path,
        log_json=False,
        admin_url=ADMIN_URL,
        push_poll_seconds=0.05,
        push_retry_schedule=[],  # the first failure is dead
    )
    app = create_app(
        settings,
        transport=RoutingTransport({"shop.test": httpx.MockTransport(shop.handle)}),
        verifier=static_verifier(),
    )
    admin = bearer(STOREFRONT_ADMIN)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sf.test") as client,
    ):
        bus = open_bus(settings=settings)
        try:
            await bus.publish(events=[shipment("SHP-9", channel="marketplace"), shipment("SHP-1")])
        finally:
            await bus.close()

        async def dead() -> list[dict[str, Any]]:
            resp = await client.get("/v1/fulfilment-pushes", params={"status": "dead"}, headers=admin)
            assert resp.status_code == 200, resp.text
            items: list[dict[str, Any]] = resp.json()["items"]
            return items

        await until(lambda: len(shop.posts) == 1)
        listed: list[dict[str, Any]] = []
        for _ in range(100):
            if listed := await dead():
                break
            await asyncio.sleep(0.05)
        [item] = listed
        assert (item["shipment_id"], item["storefront_order_id"], item["attempts"]) == ("SHP-1", "1001", 1)
        assert item["fulfillment"]["tracking_number"] == "1Z999" and "422" in item["last_error"]
        assert (await client.get("/v1/fulfilment-pushes", headers=bearer())).status_code == 403

        replay = await client.post(
            "/v1/fulfilment-pushes/SHP-1/replay", json={"reason": "order reopened in the shop"}, headers=admin
        )
        assert replay.status_code == 202, replay.text
        assert (replay.json()["status"], replay.json()["replayed_by"]) == ("pending", "test-client")
        await until(lambda: len(shop.posts) == 2)
        for _ in range(100):
            [row] = (await client.get("/v1/fulfilment-pushes", headers=admin)).json()["items"]
            if row["status"] == "synced":
                break
            await asyncio.sleep(0.05)
        assert (row["status"], row["fulfillment_id"]) == ("synced", 2)
        again = await client.post("/v1/fulfilment-pushes/SHP-1/replay", headers=admin)
        unknown = await client.post("/v1/fulfilment-pushes/NO-SUCH/replay", headers=admin)
        assert (again.status_code, unknown.status_code) == (409, 404)
        assert unknown.headers["content-type"] == "application/problem+json"
        async with app.state.db.transaction() as session:
            audit = list((await session.scalars(select(FulfilmentReplayRecord))).all())
    assert [(a.shipment_id, a.actor, a.reason) for a in audit] == [
        ("SHP-1", "test-client", "order reopened in the shop")
    ]
    assert [order for order, _ in shop.posts] == ["1001", "1001"]  # the marketplace's shipment never went
