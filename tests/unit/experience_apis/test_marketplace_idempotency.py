"""The marketplace's own Idempotency-Key on order submission, with Stripe's semantics (the kit's):
optional on version 1 (a new required header would break it), required on version 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service_kit.idempotency import IdempotencyRecord, find, fingerprint
from tests.unit.experience_apis.conftest import Marketplace
from tests.unit.experience_apis.marketplace_fakes import ACME, PROBLEM, ZENITH, order_body, order_body_v2

Body = Callable[..., dict[str, Any]]
VERSIONS = pytest.mark.parametrize(
    ("path", "body"), [("/v1/orders", order_body), ("/v2/orders", order_body_v2)], ids=["v1", "v2"]
)


def keyed(key: str, token: dict[str, str] = ACME) -> dict[str, str]:
    return token | {"Idempotency-Key": key}


def other_order(path: str) -> dict[str, Any]:
    if path == "/v1/orders":
        return order_body(marketplace_order_id="ACME-2")
    return order_body_v2(marketplace_order_id="ACME-2")


@VERSIONS
async def test_the_same_key_and_body_replay_the_first_answer(marketplace: Marketplace, path: str, body: Body) -> None:
    first = await marketplace.client.post(path, json=body(), headers=keyed("k-1"))
    again = await marketplace.client.post(path, json=body(), headers=keyed("k-1"))

    assert first.status_code == again.status_code == 202, (first.text, again.text)
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert len(marketplace.orders.posted()) == 1
    record = await find(marketplace.app.state.db, scope="acme-market", key="k-1")
    assert record is not None
    assert (record.state, record.status_code) == ("done", 202)
    assert json.loads(record.response_body or "null")["order_id"] == first.json()["order_reference"]


@VERSIONS
async def test_the_same_key_with_another_body_is_a_422(marketplace: Marketplace, path: str, body: Body) -> None:
    await marketplace.client.post(path, json=body(), headers=keyed("k-1"))

    resp = await marketplace.client.post(path, json=other_order(path), headers=keyed("k-1"))

    assert resp.status_code == 422
    assert resp.headers["content-type"] == PROBLEM
    assert "Idempotency-Key" in resp.json()["detail"]
    assert len(marketplace.orders.posted()) == 1


@VERSIONS
async def test_a_key_still_in_flight_is_a_409_with_retry_after(marketplace: Marketplace, path: str, body: Body) -> None:
    now = datetime.now(UTC)
    async with marketplace.app.state.db.transaction() as session:
        session.add(
            IdempotencyRecord(
                scope="acme-market",
                key="k-1",
                fingerprint=fingerprint("POST", path, json.dumps(body()).encode()),
                state="in_flight",
                locked_until=now + timedelta(hours=1),
                created_at=now,
            )
        )

    resp = await marketplace.client.post(path, json=body(), headers=keyed("k-1"))

    assert resp.status_code == 409
    assert resp.headers["content-type"] == PROBLEM
    assert resp.headers["retry-after"]
    assert marketplace.orders.requests == []


@VERSIONS
async def test_keys_are_scoped_per_client(marketplace: Marketplace, path: str, body: Body) -> None:
    acme = await marketplace.client.post(path, json=body(), headers=keyed("k-1"))
    zenith_body = body(marketplace_order_id="ZEN-1")
    lines = "order_items" if path == "/v1/orders" else "lines"
    zenith_body[lines] = [dict(zenith_body[lines][1], seller_sku="ZEN-0002")]

    zenith = await marketplace.client.post(path, json=zenith_body, headers=keyed("k-1", ZENITH))

    assert acme.status_code == zenith.status_code == 202, zenith.text
    assert acme.json()["order_reference"] != zenith.json()["order_reference"]


@VERSIONS
async def test_a_refused_request_keeps_no_answer_so_the_key_can_be_retried(
    marketplace: Marketplace, path: str, body: Body
) -> None:
    marketplace.orders.down = True
    failed = await marketplace.client.post(path, json=body(), headers=keyed("k-1"))
    marketplace.orders.down = False

    retried = await marketplace.client.post(path, json=body(), headers=keyed("k-1"))

    assert failed.status_code == 502
    assert retried.status_code == 202, retried.text


@VERSIONS
async def test_a_new_key_for_the_same_order_still_answers_the_same_order(
    marketplace: Marketplace, path: str, body: Body
) -> None:
    first = await marketplace.client.post(path, json=body(), headers=keyed("k-1"))
    second = await marketplace.client.post(path, json=body(), headers=keyed("k-2"))

    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    assert len(marketplace.orders.orders) == 1


@VERSIONS
async def test_an_empty_key_is_a_400(marketplace: Marketplace, path: str, body: Body) -> None:
    resp = await marketplace.client.post(path, json=body(), headers=keyed("  "))

    assert resp.status_code == 400
    assert resp.headers["content-type"] == PROBLEM
    assert marketplace.orders.requests == []


async def test_the_key_is_optional_on_v1_and_required_on_v2(marketplace: Marketplace) -> None:
    v1 = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)
    v2 = await marketplace.client.post("/v2/orders", json=order_body_v2(), headers=ACME)

    assert v1.status_code == 202
    assert v2.status_code == 422
    assert v2.headers["content-type"] == PROBLEM
    assert v2.json()["errors"] == [{"pointer": "#/header/idempotency-key", "in": "header", "detail": "Field required"}]
