"""Intake: POST /v1/orders validates synchronously, records durably and answers 202 once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.tokens import bearer
from tests.unit.process_apis.conftest import Orders, as_service, line, order_body


async def test_valid_order_is_recorded_and_answered_202_with_its_status_url(orders: Orders) -> None:
    resp = await orders.submit()
    assert resp.status_code == 202, resp.text
    accepted = resp.json()
    assert accepted["status"] == "received"
    assert accepted["id"].startswith("ord_")
    assert accepted["status_url"] == f"/v1/orders/{accepted['id']}"
    assert resp.headers["location"] == accepted["status_url"]

    order = (await orders.client.get(accepted["status_url"], headers=as_service("orders:read"))).json()
    assert order["status"] == "received"
    assert order["partner_id"] == "acme-market"
    assert order["lines"] == [
        {
            "line_no": 1,
            "sku": "WIDGET-BLUE",
            "quantity": {"value": "2", "unit": "EA"},
            "unit_price": None,
            "line_total": None,
            "warehouse": None,
        }
    ]
    assert order["ship_to"]["city"] == "Amsterdam"


async def test_same_key_and_body_replays_the_first_answer_and_records_one_order(orders: Orders) -> None:
    first = await orders.submit(key="marketplace:acme-market:MP-1001")
    again = await orders.submit(key="marketplace:acme-market:MP-1001")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert len(await orders.find()) == 1


async def test_same_key_with_another_body_is_422(orders: Orders) -> None:
    assert (await orders.submit(key="k-1")).status_code == 202
    other = await orders.submit(order_body("MP-2002"), key="k-1")
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert "Idempotency-Key" in other.json()["detail"]
    assert len(await orders.find()) == 1


async def test_idempotency_key_over_255_characters_or_missing_is_refused(orders: Orders) -> None:
    too_long = await orders.submit(key="k" * 256)
    assert too_long.status_code == 422
    assert too_long.headers["content-type"] == "application/problem+json"
    assert too_long.json()["errors"][0]["pointer"].endswith("idempotency-key")
    headers = as_service()
    del headers["Idempotency-Key"]
    missing = await orders.client.post("/v1/orders", json=order_body(), headers=headers)
    assert missing.status_code == 422
    assert await orders.find() == []


INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown customer", order_body(customer_id="C-9999"), "#/customer_id", "unknown customer C-9999"),
    ("inactive customer", order_body(customer_id="C-2002"), "#/customer_id", "customer C-2002 is inactive"),
    ("wrong currency", order_body(currency="USD"), "#/currency", "currency USD"),
    (
        "unknown SKU",
        order_body(lines=[line("WIDGET-BLUE"), line("NO-SUCH-SKU")]),
        "#/lines/1/sku",
        "unknown SKU NO-SUCH-SKU",
    ),
    ("discontinued SKU", order_body(lines=[line("LEGACY-DIAL")]), "#/lines/0/sku", "LEGACY-DIAL is discontinued"),
    ("zero quantity", order_body(lines=[line("WIDGET-BLUE", "0")]), "#/lines/0/quantity", "greater than zero"),
    ("unknown field", order_body(colour="blue"), "#/colour", "Extra inputs"),
    ("no lines", order_body(lines=[]), "#/lines", "at least 1"),
]


@pytest.mark.parametrize(("case", "body", "pointer", "detail"), INVALID, ids=[c[0] for c in INVALID])
async def test_invalid_order_is_a_422_naming_the_field_and_stores_nothing(
    orders: Orders, case: str, body: dict[str, Any], pointer: str, detail: str
) -> None:
    resp = await orders.submit(body, key=f"bad-{case}")
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    problem = resp.json()
    assert [e["pointer"] for e in problem["errors"]] == [pointer]
    assert detail in problem["errors"][0]["detail"]
    assert await orders.find() == []
    # Nothing was kept for the key either: the corrected order goes through under it.
    assert (await orders.submit(key=f"bad-{case}")).status_code == 202


async def test_every_problem_is_reported_at_once(orders: Orders) -> None:
    body = order_body(customer_id="C-2002", lines=[line("NOPE-1"), line("WIDGET-BLUE"), line("LEGACY-DIAL")])
    resp = await orders.submit(body)
    assert resp.status_code == 422
    assert resp.json()["type"] == "urn:interchange:problem:business-rule-violation"
    assert [e["pointer"] for e in resp.json()["errors"]] == ["#/customer_id", "#/lines/0/sku", "#/lines/2/sku"]


async def test_malformed_json_is_a_400_problem_and_stores_nothing(orders: Orders) -> None:
    headers = {**as_service(), "content-type": "application/json"}
    resp = await orders.client.post("/v1/orders", content=b'{"channel": "marketplace",', headers=headers)
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/problem+json"
    assert await orders.find() == []


async def test_same_channel_order_under_another_key_is_409_naming_the_order(orders: Orders) -> None:
    first = await orders.submit(key="first")
    second = await orders.submit(key="second")
    assert second.status_code == 409
    problem = second.json()
    assert problem["existing_order_id"] == first.json()["id"]
    assert first.json()["id"] in problem["detail"]
    # Another partner may use the same channel order id: the key includes the partner.
    assert (await orders.submit(key="third", partner="zenith-market")).status_code == 202


async def test_a_duplicate_order_leaves_its_key_unused(orders: Orders) -> None:
    """The order's unique natural key is the duplicate check; the refused request's key was
    written in the same transaction, so it is gone with it and serves a corrected order."""
    first = await orders.submit(key="first")
    racer = await orders.submit(key="racer")
    assert racer.status_code == 409
    assert racer.json()["existing_order_id"] == first.json()["id"]
    assert (await orders.submit(order_body("MP-OTHER"), key="racer")).status_code == 202
    assert len(await orders.find()) == 2


async def test_erp_down_at_intake_is_a_502_and_the_key_can_be_retried(orders: Orders) -> None:
    orders.tier.down.add("erp.test")
    down = await orders.submit(key="retry-me")
    assert down.status_code == 502
    assert down.json()["type"] == "urn:interchange:problem:upstream-unavailable"
    assert await orders.find() == []
    orders.tier.down.clear()
    assert (await orders.submit(key="retry-me")).status_code == 202


async def test_missing_scope_is_403_and_missing_token_401(orders: Orders) -> None:
    read_only = await orders.client.post("/v1/orders", json=order_body(), headers=as_service("orders:read"))
    assert read_only.status_code == 403
    assert "orders:write" in read_only.json()["detail"]
    accepted = await orders.submit()
    write_only = await orders.client.get(accepted.headers["location"], headers=as_service("orders:write"))
    assert write_only.status_code == 403
    listing = await orders.client.get("/v1/orders", headers=as_service("erp:read"))
    assert listing.status_code == 403
    no_token = await orders.client.post("/v1/orders", json=order_body(), headers={"Idempotency-Key": "x"})
    assert no_token.status_code == 401
    assert await orders.find() != [] and len(await orders.find()) == 1


async def test_another_partner_never_sees_the_order(orders: Orders) -> None:
    order_id = (await orders.submit()).json()["id"]
    assert (await orders.get(order_id, partner="acme-market")).status_code == 200
    hidden = await orders.get(order_id, partner="zenith-market")
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"
    assert await orders.find(partner="zenith-market") == []
    assert [o["id"] for o in await orders.find(partner="acme-market")] == [order_id]
    # A partner's own token acts as that partner, whatever header it sends.
    zenith = bearer("orders:read", client_id="zenith-market", partner_id="zenith-market", channel="marketplace")
    spoofed = await orders.client.get(
        f"/v1/orders/{order_id}", headers={**zenith, "X-Interchange-Partner": "acme-market"}
    )
    assert spoofed.status_code == 404
    # An internal caller acting for nobody sees every order.
    assert (await orders.get(order_id, partner=None)).status_code == 200


async def test_orders_are_found_by_channel_order_id_and_status(orders: Orders) -> None:
    one = (await orders.submit(order_body("MP-1"))).json()["id"]
    two = (await orders.submit(order_body("MP-2"))).json()["id"]
    assert [o["id"] for o in await orders.find(partner="acme-market")] == [one, two]
    found = await orders.find(partner="acme-market", channel="marketplace", channel_order_id="MP-2")
    assert [o["id"] for o in found] == [two]
    assert await orders.find(status="accepted") == []
    assert len(await orders.find(status="received", limit=1)) == 1
    assert [o["id"] for o in await orders.find(limit=1, offset=1)] == [two]
    bad = await orders.client.get("/v1/orders", params={"status": "nope"}, headers=as_service("orders:read"))
    assert bad.status_code == 422
