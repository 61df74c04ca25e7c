"""POST /v1/order-batches: each entry taken in as POST /v1/orders takes it, with its own key, its
own answer and its own correlation id, in one call."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from process_apis.orders.models import OrderRow
from tests.support.precomputed import post
from tests.unit.process_apis.conftest import Orders, as_service, line, order_body


def entry(key: str, body: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"idempotency_key": key, "order": body or order_body(key), **extra}


async def batch(orders: Orders, *entries: dict[str, Any], fastapi_way: bool = False) -> httpx.Response:
    headers = as_service() | {"Content-Type": "application/json"}
    del headers["Idempotency-Key"]
    return await post(
        orders.app,
        orders.client,
        "/v1/order-batches",
        content=json.dumps({"entries": list(entries)}).encode(),
        headers=headers,
        fastapi_way=fastapi_way,
    )


@pytest.mark.parametrize("fastapi_way", [False, True])
async def test_each_entry_is_taken_in_on_its_own_and_answered_as_the_single_call_would(
    orders: Orders, fastapi_way: bool, solved: list[object]
) -> None:
    resp = await batch(
        orders,
        entry("MP-1"),
        entry("MP-2", order_body("MP-2", lines=[line("NO-SUCH-SKU")])),
        entry("MP-3"),
        fastapi_way=fastapi_way,
    )

    assert resp.status_code == 200, resp.text
    assert bool(solved) == fastapi_way  # the fast way skips FastAPI's solver
    first, refused, third = resp.json()["results"]
    assert (first["status"], refused["status"], third["status"]) == (202, 422, 202)
    assert first["order"]["status"] == "received" and first["order"]["status_url"].endswith(first["order"]["id"])
    alone = await orders.submit(order_body("MP-2", lines=[line("NO-SUCH-SKU")]))
    assert refused["problem"] | {"correlation_id": None} == alone.json() | {"correlation_id": None}
    assert sorted(o["channel_order_id"] for o in await orders.find("acme-market")) == ["MP-1", "MP-3"]


async def test_a_key_sent_alone_then_in_a_batch_replays_and_another_body_under_it_is_422(orders: Orders) -> None:
    alone = await orders.submit(order_body("MP-7"), key="marketplace:acme-market:MP-7")
    assert alone.status_code == 202, alone.text

    resp = await batch(
        orders,
        entry("marketplace:acme-market:MP-7", order_body("MP-7")),
        entry("marketplace:acme-market:MP-7", order_body("MP-8")),
    )

    replayed, other_body = resp.json()["results"]
    assert replayed == {"status": 202, "order": alone.json(), "problem": None, "retry_after": None}
    assert other_body["status"] == 422
    assert "different request body" in other_body["problem"]["detail"]
    assert len(await orders.find("acme-market")) == 1


async def test_each_order_records_the_correlation_id_of_its_own_entry(orders: Orders) -> None:
    resp = await batch(orders, entry("MP-1", correlation_id="partner-call-1"), entry("MP-2"))

    ids = [result["order"]["id"] for result in resp.json()["results"]]
    async with orders.app.state.db.engine.connect() as conn:
        rows = dict((await conn.execute(select(OrderRow.id, OrderRow.correlation_id))).all())
    assert rows[ids[0]] == "partner-call-1"
    assert rows[ids[1]] not in ("", "partner-call-1")  # the batch call's own


@pytest.mark.parametrize(
    "entries",
    [
        [],
        [entry(f"k-{n}") for n in range(101)],
        [{"idempotency_key": " ", "order": order_body()}],
        [entry("MP-1", order_body("MP-1", split_shipments_allowed=0))],  # typed as published: no 0 for false
    ],
)
async def test_a_malformed_batch_is_a_422_problem_and_writes_nothing(
    orders: Orders, entries: list[dict[str, Any]]
) -> None:
    resp = await batch(orders, *entries)

    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert await orders.find("acme-market") == []
