"""Webhook subscriptions on the marketplace: partner-scoped, SSRF targets refused naming the field,
availability changes delivered signed to the partner's receiver, dead letters replayed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from contracts.scopes import MARKETPLACE_ORDERS_READ, MARKETPLACE_WEBHOOKS_WRITE
from experience_apis.marketplace.app import create_app
from experience_apis.marketplace.settings import MarketplaceSettings
from service_kit.http import RoutingTransport
from service_kit.webhooks import DeliveryStatus, WebhookDelivery, deliver_due, verify
from tests.support.tokens import Bearer, bearer, static_verifier
from tests.unit.experience_apis.marketplace_fakes import FakeOrdersApi
from tests.unit.experience_apis.test_marketplace_feed import apply as apply_availability
from tests.unit.experience_apis.test_marketplace_feed import availability

ACME = Bearer(MARKETPLACE_WEBHOOKS_WRITE, client_id="acme-market", partner_id="acme-market")
ZENITH = Bearer(MARKETPLACE_WEBHOOKS_WRITE, client_id="zenith-market", partner_id="zenith-market")


@dataclass
class Receiver:
    answer: Callable[[httpx.Request], httpx.Response] = lambda r: httpx.Response(204)
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


@dataclass
class Channel:
    app: FastAPI
    client: httpx.AsyncClient
    receiver: Receiver

    async def subscribe(self, headers: dict[str, str], url: str = "http://receiver.test/hooks") -> dict[str, Any]:
        resp = await self.client.post(
            "/v2/webhooks", json={"url": url, "event_types": ["availability.changed"]}, headers=headers
        )
        assert resp.status_code == 201, resp.text
        body: dict[str, Any] = resp.json()
        return body

    async def drain(self) -> None:
        """Until no delivery is pending (the app's own delivery worker, woken by the queueing
        commit, may be sending some of them at the same time)."""
        policy = self.app.state.webhook_policy
        for _ in range(500):
            await deliver_due(db=self.app.state.db, http=self.app.state.http, policy=policy)
            async with self.app.state.db.transaction() as session:
                pending = await session.scalar(
                    select(func.count()).where(WebhookDelivery.status == DeliveryStatus.pending)
                )
            if not pending:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("deliveries still pending after 500 passes")


@pytest.fixture
async def channel(tmp_path: Path) -> AsyncIterator[Channel]:
    receiver = Receiver()
    settings = MarketplaceSettings.load(
        "marketplace",
        data_dir=tmp_path,
        seed_demo=True,
        log_json=False,
        orders_url="http://orders.test",
        webhook_allow_hosts=["receiver.test"],
        webhook_retry_schedule=[0, 0],
    )
    transport = RoutingTransport(
        {
            "orders.test": httpx.MockTransport(FakeOrdersApi().handle),
            "receiver.test": httpx.MockTransport(receiver.handle),
        }
    )
    app = create_app(settings, transport=transport, verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mp.test") as client:
            yield Channel(app=app, client=client, receiver=receiver)


async def test_partners_manage_only_their_own_subscriptions(channel: Channel) -> None:
    created = await channel.subscribe(ACME)
    assert created["secret"].startswith("whsec_") and created["id"].startswith("whsub_")
    listed = (await channel.client.get("/v2/webhooks", headers=ACME)).json()["items"]
    assert [w["id"] for w in listed] == [created["id"]] and "secret" not in listed[0]
    assert (await channel.client.get("/v1/webhooks", headers=ZENITH)).json() == {"items": []}
    assert (await channel.client.delete(f"/v2/webhooks/{created['id']}", headers=ZENITH)).status_code == 404
    deliveries = await channel.client.get(f"/v2/webhooks/{created['id']}/deliveries", headers=ZENITH)
    assert deliveries.status_code == 404
    assert (await channel.client.delete(f"/v2/webhooks/{created['id']}", headers=ACME)).status_code == 204
    assert (await channel.client.get("/v2/webhooks", headers=ACME)).json() == {"items": []}
    orders_only = bearer(MARKETPLACE_ORDERS_READ, client_id="acme-market", partner_id="acme-market")
    assert (await channel.client.get("/v2/webhooks", headers=orders_only)).status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hooks",
        "http://10.2.3.4/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hooks",
        "http://[fd00::5]/hooks",
        "http://localhost/hooks",
    ],
)
async def test_private_targets_are_refused_naming_the_url(channel: Channel, url: str) -> None:
    resp = await channel.client.post(
        "/v2/webhooks", json={"url": url, "event_types": ["availability.changed"]}, headers=ACME
    )
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert [e["pointer"] for e in resp.json()["errors"]] == ["#/url"]


async def test_a_file_url_is_not_even_valid(channel: Channel) -> None:
    resp = await channel.client.post(
        "/v2/webhooks", json={"url": "file:///etc/passwd", "event_types": ["availability.changed"]}, headers=ACME
    )
    assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json")


async def test_availability_changes_arrive_signed_for_the_partners_listings(channel: Channel) -> None:
    acme = await channel.subscribe(ACME)
    await channel.subscribe(ZENITH, url="http://receiver.test/zenith")
    await apply_availability(channel, availability("WIDGET-RED", "6"))  # acme lists it, zenith does not
    await channel.drain()
    [request] = channel.receiver.requests
    assert request.url.path == "/hooks"
    verify(secret=acme["secret"], body=request.content, headers=dict(request.headers))
    body = json.loads(request.content)
    assert body["type"] == "availability.changed"
    assert {k: body["data"][k] for k in ("seller_sku", "available")} == {"seller_sku": "ACME-WR", "available": 6}
    listed = (await channel.client.get(f"/v2/webhooks/{acme['id']}/deliveries", headers=ACME)).json()["items"]
    assert [(d["id"], d["status"], d["attempts"]) for d in listed] == [(request.headers["webhook-id"], "delivered", 1)]


async def test_a_dead_delivery_is_replayed_with_the_same_id(channel: Channel) -> None:
    channel.receiver.answer = lambda r: httpx.Response(503)
    acme = await channel.subscribe(ACME)
    await apply_availability(channel, availability("GADGET-PRO", "2"))
    await channel.drain()
    assert len(channel.receiver.requests) == 3  # first try and the two retries of the schedule
    dead = (await channel.client.get(f"/v2/webhooks/{acme['id']}/deliveries?status=dead", headers=ACME)).json()
    [delivery] = dead["items"]
    assert delivery["last_error"] == "HTTP 503" and delivery["last_status_code"] == 503

    channel.receiver.answer = lambda r: httpx.Response(200)
    replay = f"/v2/webhooks/{acme['id']}/deliveries/{delivery['id']}/replay"
    resp = await channel.client.post(replay, headers=ACME)
    assert resp.status_code == 202 and resp.json()["status"] == "pending"
    await channel.drain()
    assert {r.headers["webhook-id"] for r in channel.receiver.requests} == {delivery["id"]}
    assert (await channel.client.post(replay, headers=ACME)).status_code == 409
    assert (await channel.client.post(replay, headers=ZENITH)).status_code == 404
