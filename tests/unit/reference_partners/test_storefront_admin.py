"""The reference shop's admin API: levels kept with their history, the access token checked,
orders numbered and sent as signed webhooks (verified with the storefront service's own check),
retried on failure, cancelled once."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from experience_apis.storefront.signatures import is_signed_by
from reference_partners.storefront_admin.app import create_app
from reference_partners.storefront_admin.settings import ShopSettings
from reference_partners.storefront_admin.storage import Store

API = "/admin/api/2024-01"
SECRET = "shop-webhook-secret"
TOKEN = "shop-admin-token"
ORDER = {
    "order": {
        "line_items": [{"sku": "WIDGET-BLUE", "quantity": 2}],
        "shipping_address": {
            "name": "Jane Doe",
            "address1": "Damrak 1",
            "city": "Amsterdam",
            "zip": "1012 LG",
            "country_code": "NL",
        },
    }
}

Answer = Callable[[httpx.Request], httpx.Response]


class Receiver:
    """The storefront service's webhook endpoint, as the shop sees it: answers as told, keeps what came."""

    def __init__(self) -> None:
        self.received: list[httpx.Request] = []
        self.answers: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        status = self.answers.pop(0) if self.answers else 200
        return httpx.Response(status, json={"outcome": "submitted"})


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@contextlib.asynccontextmanager
async def running(settings: ShopSettings, transport: httpx.AsyncBaseTransport) -> AsyncIterator[httpx.AsyncClient]:
    """The shop's app with its lifespan, called in process; a webhook is delivered before the answer
    that scheduled it reaches the test (httpx's ASGI transport waits for the background task)."""
    app = create_app(settings, transport=transport)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop.test") as client,
    ):
        yield client


def shop(
    tmp_path: Path, receiver: Receiver, *, access_token: str = ""
) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
    config = ShopSettings(
        data_dir=tmp_path,
        webhook_url="http://storefront.test/v1/webhooks/orders",
        webhook_secret=SECRET,
        delivery_attempts=3,
        delivery_backoff_seconds=0,
        access_token=access_token,
    )
    return running(config, httpx.MockTransport(receiver))


@pytest.fixture
async def client(tmp_path: Path, receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    async with shop(tmp_path, receiver) as c:
        yield c


async def test_levels_are_kept_with_their_history_and_outlive_a_restart(
    tmp_path: Path, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    for available in (7, 5):
        resp = await client.post(
            f"{API}/inventory_levels/set.json", json={"inventory_item_id": 44001, "available": available}
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["inventory_level"]["available"] == available
    await client.post(f"{API}/inventory_levels/set.json", json={"inventory_item_id": 44002, "available": 0})

    async with shop(tmp_path, receiver) as again:  # a new process on the same data dir
        levels = (await again.get(f"{API}/inventory_levels.json", params={"inventory_item_ids": "44001"})).json()
    assert [(lv["inventory_item_id"], lv["available"]) for lv in levels["inventory_levels"]] == [(44001, 5)]
    assert [h["available"] for h in levels["inventory_levels"][0]["history"]] == [7, 5]


async def test_a_bad_item_id_list_is_a_problem_that_says_what_to_send(client: httpx.AsyncClient) -> None:
    resp = await client.get(f"{API}/inventory_levels.json", params={"inventory_item_ids": "44001,blue"})
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/problem+json"
    assert "comma-separated" in resp.json()["detail"]


async def test_the_access_token_is_refused_when_wrong_or_missing(tmp_path: Path, receiver: Receiver) -> None:
    async with shop(tmp_path, receiver, access_token=TOKEN) as c:
        body = {"inventory_item_id": 44001, "available": 3}
        for headers in ({}, {"X-Storefront-Access-Token": "not-it"}):
            refused = await c.post(f"{API}/inventory_levels/set.json", json=body, headers=headers)
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
            assert "X-Storefront-Access-Token" in refused.json()["detail"]
        assert (await c.get(f"{API}/inventory_levels.json", headers={"X-Storefront-Access-Token": TOKEN})).json() == {
            "inventory_levels": []
        }
        taken = await c.post(
            f"{API}/inventory_levels/set.json", json=body, headers={"X-Storefront-Access-Token": TOKEN}
        )
        assert taken.status_code == 200


async def test_an_order_is_numbered_kept_and_sent_as_a_signed_webhook(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    first = await client.post(f"{API}/orders.json", json=ORDER)
    assert first.status_code == 201, first.text
    second = await client.post(f"{API}/orders.json", json=ORDER)
    orders = [first.json()["order"], second.json()["order"]]
    assert [(o["id"], o["name"]) for o in orders] == [(1001, "#1001"), (1002, "#1002")]
    assert orders[0]["currency"] == "EUR"

    sent = receiver.received[0]
    assert is_signed_by(secret=SECRET, body=sent.content, header=sent.headers["X-Storefront-Hmac-Sha256"])
    assert not is_signed_by(secret="another", body=sent.content, header=sent.headers["X-Storefront-Hmac-Sha256"])
    assert sent.headers["X-Storefront-Topic"] == "orders/create"
    assert sent.headers["X-Storefront-Shop-Domain"] == "demo-shop.storefront.example"
    assert json.loads(sent.content) == orders[0]
    assert [o["id"] for o in (await client.get(f"{API}/orders.json")).json()["orders"]] == [1001, 1002]

    deliveries = (await client.get(f"{API}/webhook_deliveries.json", params={"order_id": 1001})).json()[
        "webhook_deliveries"
    ]
    assert [(d["topic"], d["attempt"], d["status_code"]) for d in deliveries] == [("orders/create", 1, 200)]
    assert deliveries[0]["webhook_id"] == sent.headers["X-Storefront-Webhook-Id"]


async def test_a_failed_delivery_is_retried_under_the_same_webhook_id(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.answers = [503, 409, 200]
    await client.post(f"{API}/orders.json", json=ORDER)

    assert len(receiver.received) == 3
    assert len({r.headers["X-Storefront-Webhook-Id"] for r in receiver.received}) == 1
    deliveries = (await client.get(f"{API}/webhook_deliveries.json")).json()["webhook_deliveries"]
    assert [(d["attempt"], d["status_code"]) for d in deliveries] == [(1, 503), (2, 409), (3, 200)]


async def test_a_refused_delivery_is_not_retried_and_a_failing_one_stops_after_its_attempts(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.answers = [401]
    await client.post(f"{API}/orders.json", json=ORDER)
    assert len(receiver.received) == 1

    receiver.answers = [500, 500, 500, 500]
    await client.post(f"{API}/orders.json", json=ORDER)
    deliveries = (await client.get(f"{API}/webhook_deliveries.json", params={"order_id": 1002})).json()[
        "webhook_deliveries"
    ]
    assert [d["status_code"] for d in deliveries] == [500, 500, 500]  # delivery_attempts=3


async def test_an_unreachable_receiver_is_recorded_as_an_error(tmp_path: Path) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    config = ShopSettings(data_dir=tmp_path, webhook_secret=SECRET, delivery_attempts=2, delivery_backoff_seconds=0)
    async with running(config, httpx.MockTransport(unreachable)) as c:
        assert (await c.post(f"{API}/orders.json", json=ORDER)).status_code == 201
        deliveries = (await c.get(f"{API}/webhook_deliveries.json")).json()["webhook_deliveries"]
    assert [(d["status_code"], d["error"]) for d in deliveries] == [(None, "ConnectError: connection refused")] * 2


async def test_a_cancel_sends_orders_cancelled_once_with_a_newer_updated_at(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    created = (await client.post(f"{API}/orders.json", json=ORDER)).json()["order"]
    resp = await client.post(f"{API}/orders/1001/cancel.json", json={"reason": "customer"})
    assert resp.status_code == 200, resp.text
    cancelled = resp.json()["order"]
    assert cancelled["cancelled_at"] and cancelled["cancel_reason"] == "customer"
    assert cancelled["updated_at"] > created["updated_at"]

    again = await client.post(f"{API}/orders/1001/cancel.json")
    assert again.json()["order"] == cancelled
    assert [r.headers["X-Storefront-Topic"] for r in receiver.received] == ["orders/create", "orders/cancelled"]
    sent = receiver.received[1]
    assert is_signed_by(secret=SECRET, body=sent.content, header=sent.headers["X-Storefront-Hmac-Sha256"])
    assert json.loads(sent.content)["cancelled_at"] == cancelled["cancelled_at"]


async def test_an_unknown_order_and_an_invalid_one_are_problems(client: httpx.AsyncClient, receiver: Receiver) -> None:
    missing = await client.post(f"{API}/orders/999/cancel.json")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"{API}/orders/999.json")).status_code == 404

    invalid = await client.post(
        f"{API}/orders.json", json={"order": {"line_items": [{"sku": "WIDGET-BLUE", "quantity": 0}]}}
    )
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"
    assert any("quantity" in e["pointer"] for e in invalid.json()["errors"])
    assert (await client.get(f"{API}/orders.json")).json() == {"orders": []}
    assert receiver.received == []


async def test_an_unexpected_failure_is_a_bare_problem_and_keeps_nothing(
    client: httpx.AsyncClient, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Store, order: dict[str, object]) -> dict[str, object]:
        raise RuntimeError("disk on fire at /secret/path")

    monkeypatch.setattr(Store, "add_order", broken)
    resp = await client.post(f"{API}/orders.json", json=ORDER)
    assert resp.status_code == 500
    assert resp.headers["content-type"] == "application/problem+json"
    assert "secret" not in resp.text and "RuntimeError" not in resp.text
    assert receiver.received == []
