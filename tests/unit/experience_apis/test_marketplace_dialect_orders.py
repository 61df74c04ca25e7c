"""A marketplace partner onboarded with its own field mapping (tests/fixtures/onboarding): the
operator's admin route stores the account link, listings, mapping and webhooks in one transaction
(idempotent; a bad part leaves nothing), and the partner's orders in its own dialect are taken in
as version 2 orders, with problems pointing at the partner's own fields."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from contracts.scopes import MARKETPLACE_ORDERS_WRITE, OPS
from tests.support.tokens import Bearer
from tests.unit.experience_apis.conftest import Marketplace

FIXTURES = Path(__file__).parents[2] / "fixtures" / "onboarding"
OPERATOR = Bearer(OPS, client_id="ops-cli", kind="internal")
GLOBEX = Bearer(MARKETPLACE_ORDERS_WRITE, client_id="globex-market", partner_id="globex-market", channel="marketplace")


def setup_body(**overrides: Any) -> dict[str, Any]:
    return {
        "customer_id": "C-1002",
        "currency": "EUR",
        "listings": [
            {"seller_sku": "GLX-WIDGET-B", "sku": "WIDGET-BLUE"},
            {"seller_sku": "GLX-USB-C", "sku": "CABLE-USB-C"},
        ],
        "field_mapping": yaml.safe_load((FIXTURES / "globex-mapping.yaml").read_text()),
        **overrides,
    }


def globex_order() -> dict[str, Any]:
    return dict(json.loads((FIXTURES / "globex-order.json").read_text()))


async def onboard(marketplace: Marketplace, **overrides: Any) -> Any:
    return await marketplace.client.put(
        "/v1/admin/partners/globex-market", json=setup_body(**overrides), headers=OPERATOR
    )


async def submit(marketplace: Marketplace, order: dict[str, Any], key: str = "glx-1") -> Any:
    return await marketplace.client.post("/v2/dialect-orders", json=order, headers=GLOBEX | {"Idempotency-Key": key})


async def test_an_order_in_the_partners_own_fields_is_taken_in_as_a_v2_order(marketplace: Marketplace) -> None:
    onboarded = await onboard(marketplace)
    assert onboarded.status_code == 200, onboarded.text
    assert onboarded.json() == {
        "partner_id": "globex-market",
        "created": True,
        "listings": 2,
        "field_mapping": True,
        "webhooks": [],
    }

    resp = await submit(marketplace, globex_order())

    assert resp.status_code == 202, resp.text
    assert resp.json()["marketplace_order_id"] == "GLX-5001"
    assert resp.headers["location"] == "/marketplace/v2/orders/GLX-5001"
    [sent] = marketplace.orders.posted()
    canonical = json.loads(sent.content)
    assert sent.headers["X-Interchange-Partner"] == "globex-market"
    assert canonical["customer_id"] == "C-1002"
    assert canonical["currency"] == "EUR"
    assert canonical["lines"] == [
        {"sku": "WIDGET-BLUE", "quantity": {"value": "2", "unit": "EA"}},
        {"sku": "CABLE-USB-C", "quantity": {"value": "1", "unit": "EA"}},
    ]


async def test_a_bad_field_points_at_the_partners_own_field(marketplace: Marketplace) -> None:
    await onboard(marketplace)
    order = globex_order()
    order["items"][1]["count"] = 0
    del order["shipTo"]["town"]

    resp = await submit(marketplace, order)

    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert {e["pointer"] for e in resp.json()["errors"]} == {"#/items/1/count", "#/shipTo/town"}
    assert marketplace.orders.posted() == []


async def test_an_unlisted_seller_sku_points_at_the_partners_item(marketplace: Marketplace) -> None:
    await onboard(marketplace)
    order = globex_order()
    order["items"][1]["sellerSku"] = "GLX-NOPE"

    resp = await submit(marketplace, order)

    assert resp.status_code == 422, resp.text
    assert [e["pointer"] for e in resp.json()["errors"]] == ["#/items/1/sellerSku"]


async def test_a_partner_without_a_mapping_is_told_where_to_submit(marketplace: Marketplace) -> None:
    await onboard(marketplace, field_mapping=None)

    resp = await submit(marketplace, globex_order())

    assert resp.status_code == 422, resp.text
    assert "/marketplace/v2/orders" in resp.json()["detail"]


async def test_a_bad_mapping_is_refused_at_its_field_and_nothing_is_stored(marketplace: Marketplace) -> None:
    mapping = setup_body()["field_mapping"]
    mapping["fields"][2]["to"] = "buyer.phone"

    resp = await onboard(marketplace, field_mapping=mapping)

    assert resp.status_code == 422, resp.text
    [error] = resp.json()["errors"]
    assert error["pointer"] == "#/field_mapping/fields/2/to"
    assert "'buyer.phone' is not a field of the version 2 order" in error["detail"]
    # Nothing of the partner was written: its orders are refused as from an unknown partner.
    refused = await submit(marketplace, globex_order())
    assert refused.status_code == 422
    removed = await marketplace.client.delete("/v1/admin/partners/globex-market", headers=OPERATOR)
    assert removed.status_code == 404


async def test_setting_up_again_replaces_listings_and_keeps_webhooks(marketplace: Marketplace) -> None:
    policy = marketplace.app.state.webhook_policy
    marketplace.app.state.webhook_policy = replace(policy, allowlist=frozenset({"hooks.globex.example"}))
    hooks = [{"url": "https://hooks.globex.example/in", "event_types": ["availability.changed"]}]
    first = await onboard(marketplace, listings=[{"seller_sku": "GLX-WIDGET-B", "sku": "WIDGET-BLUE"}], webhooks=hooks)
    again = await onboard(marketplace, webhooks=hooks)

    assert first.json()["created"] is True
    [made] = first.json()["webhooks"]
    assert made["secret"].startswith("whsec_")
    assert again.status_code == 200, again.text
    assert again.json()["created"] is False
    assert again.json()["listings"] == 2
    # The same subscription, its secret not shown again.
    assert again.json()["webhooks"] == [{**made, "secret": None}]
    assert (await submit(marketplace, globex_order())).status_code == 202


async def test_a_refused_webhook_target_leaves_nothing_written(marketplace: Marketplace) -> None:
    hooks = [{"url": "http://127.0.0.1:9/in", "event_types": ["availability.changed"]}]

    resp = await onboard(marketplace, webhooks=hooks)

    assert resp.status_code == 422, resp.text
    assert [e["pointer"] for e in resp.json()["errors"]] == ["#/webhooks/0/url"]
    assert (await marketplace.client.delete("/v1/admin/partners/globex-market", headers=OPERATOR)).status_code == 404


async def test_removing_a_fresh_partner_undoes_it_and_one_with_orders_is_refused(marketplace: Marketplace) -> None:
    await onboard(marketplace)
    assert (await marketplace.client.delete("/v1/admin/partners/globex-market", headers=OPERATOR)).status_code == 200
    gone = await submit(marketplace, globex_order(), key="glx-2")
    assert gone.status_code == 422
    assert "no field mapping" in gone.json()["detail"]

    await onboard(marketplace)
    assert (await submit(marketplace, globex_order(), key="glx-3")).status_code == 202
    refused = await marketplace.client.delete("/v1/admin/partners/globex-market", headers=OPERATOR)
    assert refused.status_code == 409
    assert "disable its client" in refused.json()["detail"]


async def test_only_an_operator_sets_partners_up(marketplace: Marketplace) -> None:
    partner = Bearer(OPS, client_id="globex-market", partner_id="globex-market", kind="partner")
    resp = await marketplace.client.put("/v1/admin/partners/globex-market", json=setup_body(), headers=partner)
    assert resp.status_code == 403
    assert resp.headers["content-type"] == "application/problem+json"
