"""Contract enforcement at the gateway: scopes (403), body size (413), media type (415), JSON
depth (400) and schema (422), process APIs for internal clients only (404 to anyone else). Every
refusal is problem+json and leaves the service untouched."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.policy import check_request_body
from gateway.proxy import Exchange
from gateway.routing import Operation
from gateway.settings import GatewaySettings
from service_kit.errors import PayloadTooLarge
from service_kit.http import RoutingTransport
from tests.unit.gateway.conftest import (
    MARKETPLACE_V1,
    ORDERS_V1,
    FakeService,
    Gateway,
    gateway_settings,
    running_gateway,
    write_contract,
)

PROBLEM = "application/problem+json"

# The marketplace contract of conftest, with a request body for order submission.
WITH_BODY = (
    MARKETPLACE_V1.replace(
        """      security: [{oauth2: [marketplace:orders.write]}]
      responses: {"202": {description: accepted}}
""",
        """      security: [{oauth2: [marketplace:orders.write]}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/OrderCreate'}
      responses: {"202": {description: accepted}}
""",
    )
    + """components:
  schemas:
    OrderCreate:
      type: object
      additionalProperties: false
      required: [marketplace_order_id, order_items]
      properties:
        marketplace_order_id: {type: string, minLength: 1, maxLength: 64}
        note: {}
        order_items:
          type: array
          minItems: 1
          items: {$ref: '#/components/schemas/Item'}
    Item:
      type: object
      additionalProperties: false
      required: [seller_sku, quantity_ordered]
      properties:
        seller_sku: {type: string}
        quantity_ordered: {type: integer, exclusiveMinimum: 0}
"""
)

ORDER = {"marketplace_order_id": "MP-1", "order_items": [{"seller_sku": "ACME-WB", "quantity_ordered": 2}]}


@pytest.fixture
def services() -> dict[str, FakeService]:
    return {"marketplace": FakeService(status=202), "orders": FakeService(status=202)}


def _transport(services: dict[str, FakeService]) -> RoutingTransport:
    return RoutingTransport({f"{name}.test": httpx.ASGITransport(app=app) for name, app in services.items()})


def _settings(tmp_path: Path, **overrides: Any) -> GatewaySettings:
    root = tmp_path / "contracts"
    write_contract(root, "marketplace", "v1", WITH_BODY)
    write_contract(root, "orders", "v1", ORDERS_V1)
    return gateway_settings(tmp_path, root, **overrides)


@pytest.fixture
async def gw(tmp_path: Path, services: dict[str, FakeService]) -> AsyncIterator[Gateway]:
    async with running_gateway(_settings(tmp_path, max_body_bytes=4096), _transport(services)) as running:
        yield running


@pytest.fixture
async def auth(gw: Gateway) -> dict[str, str]:
    return await gw.partner_bearer()


def untouched(services: dict[str, FakeService]) -> bool:
    return all(not s.seen for s in services.values())


def assert_problem(resp: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == PROBLEM
    body = dict(resp.json())
    assert body["type"] == f"urn:interchange:problem:{slug}"
    assert body["status"] == status
    return body


# Scopes


async def test_a_token_without_the_operations_scope_is_403_naming_it(
    gw: Gateway, services: dict[str, FakeService]
) -> None:
    client_id, secret = await gw.register_partner()
    read_only = await gw.token(client_id, secret, scope="marketplace:orders.read")

    resp = await gw.client.post("/marketplace/v1/orders", json=ORDER, headers={"Authorization": f"Bearer {read_only}"})

    body = assert_problem(resp, 403, "forbidden")
    assert "marketplace:orders.write" in body["detail"]
    assert resp.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="marketplace:orders.write"'
    assert untouched(services)
    listed = await gw.client.get("/marketplace/v1/orders", headers={"Authorization": f"Bearer {read_only}"})
    assert listed.status_code == 202  # the scope it has is enough for a read


# Bodies


async def test_a_valid_body_reaches_the_service_as_sent(
    gw: Gateway, auth: dict[str, str], services: dict[str, FakeService]
) -> None:
    body = b'{"marketplace_order_id":"MP-1",  "order_items":[{"seller_sku":"ACME-WB","quantity_ordered":2}]}'

    resp = await gw.client.post(
        "/marketplace/v1/orders", content=body, headers={**auth, "content-type": "application/json; charset=utf-8"}
    )

    assert resp.status_code == 202, resp.text
    [seen] = services["marketplace"].seen
    assert seen.body == body
    assert seen.header("content-length") == str(len(body))


async def test_a_chunked_valid_body_is_forwarded_whole(
    gw: Gateway, auth: dict[str, str], services: dict[str, FakeService]
) -> None:
    body = json.dumps(ORDER).encode()

    async def chunks() -> AsyncIterator[bytes]:
        yield body[:10]
        yield body[10:]

    resp = await gw.client.post(
        "/marketplace/v1/orders", content=chunks(), headers={**auth, "content-type": "application/json"}
    )

    assert resp.status_code == 202, resp.text
    assert services["marketplace"].seen[0].body == body


@pytest.mark.parametrize(
    ("order", "pointers"),
    [
        ({"order_items": []}, {"#/marketplace_order_id", "#/order_items"}),
        (
            {**ORDER, "order_items": [{"seller_sku": "X", "quantity_ordered": "2"}]},
            {"#/order_items/0/quantity_ordered"},
        ),
        ({**ORDER, "order_items": [{"seller_sku": "X", "quantity_ordered": 0}]}, {"#/order_items/0/quantity_ordered"}),
        ({**ORDER, "account_id": "someone-else"}, {"#/account_id"}),
        ([ORDER], {"#"}),
    ],
    ids=["missing-and-empty", "wrong-type", "out-of-range", "unknown-field", "not-an-object"],
)
async def test_a_body_against_the_schema_is_422_naming_each_field(
    gw: Gateway, auth: dict[str, str], services: dict[str, FakeService], order: Any, pointers: set[str]
) -> None:
    resp = await gw.client.post("/marketplace/v1/orders", json=order, headers=auth)

    body = assert_problem(resp, 422, "validation-failed")
    assert {e["pointer"] for e in body["errors"]} == pointers
    assert all(e["in"] == "body" and e["detail"] for e in body["errors"])
    assert untouched(services)


@pytest.mark.parametrize(
    ("content", "content_type", "status", "slug"),
    [
        (b"marketplace_order_id=MP-1", "application/x-www-form-urlencoded", 415, "unsupported-media-type"),
        (json.dumps(ORDER).encode(), "text/plain", 415, "unsupported-media-type"),
        (json.dumps(ORDER).encode(), None, 415, "unsupported-media-type"),
        (b'{"marketplace_order_id": "MP-1", ', "application/json", 400, "bad-request"),
        (b'{"marketplace_order_id": NaN}', "application/json", 400, "bad-request"),
        (b"\xff\xfe{}", "application/json", 400, "bad-request"),
    ],
    ids=["form", "text", "no-content-type", "truncated-json", "nan", "not-utf8"],
)
async def test_a_body_that_is_not_json_is_refused(
    gw: Gateway,
    auth: dict[str, str],
    services: dict[str, FakeService],
    content: bytes,
    content_type: str | None,
    status: int,
    slug: str,
) -> None:
    headers = {**auth, **({"content-type": content_type} if content_type else {})}

    resp = await gw.client.post("/marketplace/v1/orders", content=content, headers=headers)

    assert_problem(resp, status, slug)
    assert untouched(services)


async def test_a_missing_required_body_is_422(
    gw: Gateway, auth: dict[str, str], services: dict[str, FakeService]
) -> None:
    resp = await gw.client.post("/marketplace/v1/orders", headers={**auth, "content-type": "application/json"})

    body = assert_problem(resp, 422, "validation-failed")
    assert body["errors"][0]["pointer"] == "#"
    assert untouched(services)


@pytest.mark.parametrize("depth", [33, 1500])  # 1500: past the parser's own recursion limit
async def test_json_nested_deeper_than_the_cap_is_400(
    gw: Gateway, auth: dict[str, str], services: dict[str, FakeService], depth: int
) -> None:
    note = "[" * (depth - 1) + "]" * (depth - 1)
    content = b'{"marketplace_order_id": "MP-1", "order_items": [], "note": ' + note.encode() + b"}"

    resp = await gw.client.post(
        "/marketplace/v1/orders", content=content, headers={**auth, "content-type": "application/json"}
    )

    body = assert_problem(resp, 400, "bad-request")
    assert "32 levels" in body["detail"]
    assert untouched(services)


async def test_nesting_up_to_the_cap_is_fine(
    gw: Gateway, auth: dict[str, str], services: dict[str, FakeService]
) -> None:
    note = "[" * 31 + "]" * 31  # 32 levels with the object around it
    content = json.dumps({**ORDER, "note": None}).replace("null", note).encode()

    resp = await gw.client.post(
        "/marketplace/v1/orders", content=content, headers={**auth, "content-type": "application/json"}
    )

    assert resp.status_code == 202, resp.text


async def test_a_content_length_over_the_cap_is_413_before_the_body_is_read(gw: Gateway, auth: dict[str, str]) -> None:
    policy = check_request_body(max_bytes=4096, max_depth=32)
    route = gw.app.state.routing_table.get("marketplace", "v1")
    operation: Operation = route.find("/v1/orders")["POST"]

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body must not be read")

    exchange = Exchange(
        scope={},
        route=route,
        operation=operation,
        service_path="/v1/orders",
        raw_service_path=b"/v1/orders",
        headers=[],
        token=None,
        receive=receive,
        has_body=True,
        content_type=b"application/json",
        content_length=4097,
    )
    with pytest.raises(PayloadTooLarge):
        await policy(exchange)

    resp = await gw.client.post(
        "/marketplace/v1/orders", content=b"x" * 5000, headers={**auth, "content-type": "application/json"}
    )
    body = assert_problem(resp, 413, "payload-too-large")
    assert "4096 bytes" in body["detail"]


async def test_a_chunked_body_over_the_cap_is_413_and_the_service_gets_nothing(
    gw: Gateway, auth: dict[str, str], services: dict[str, FakeService]
) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"marketplace_order_id": "'
        for _ in range(1000):  # far more than the cap; the gateway stops reading at it
            sent += 1
            yield b"x" * 1024

    resp = await gw.client.post(
        "/marketplace/v1/orders", content=endless(), headers={**auth, "content-type": "application/json"}
    )

    assert_problem(resp, 413, "payload-too-large")
    assert untouched(services)
    assert sent < 10


async def test_a_body_the_contract_does_not_read_is_streamed_but_capped(
    gw: Gateway, auth: dict[str, str], services: dict[str, FakeService]
) -> None:
    # GET /v1/orders takes no body: one sent anyway streams through, counted, and stops at the cap.
    async def chunks(n: int) -> AsyncIterator[bytes]:
        for _ in range(n):
            yield b"x" * 1024

    small = await gw.client.request("GET", "/marketplace/v1/orders", content=chunks(2), headers=auth)
    assert small.status_code == 202
    assert len(services["marketplace"].seen[0].body) == 2048
    services["marketplace"].seen.clear()

    large = await gw.client.request("GET", "/marketplace/v1/orders", content=chunks(50), headers=auth)

    assert_problem(large, 413, "payload-too-large")
    assert untouched(services)


# Process APIs: internal clients only


async def internal_bearer(gw: Gateway, kind: str = "internal") -> dict[str, str]:
    client_id, secret = await gw.register(client_id=f"{kind}-app", kind=kind, scopes=["orders:write"], tier="internal")
    return {"Authorization": f"Bearer {await gw.token(client_id, secret)}"}


async def test_an_internal_client_reaches_a_process_api(gw: Gateway, services: dict[str, FakeService]) -> None:
    resp = await gw.client.post("/orders/v1/orders", headers=await internal_bearer(gw))

    assert resp.status_code == 202, resp.text
    assert [s.path for s in services["orders"].seen] == ["/v1/orders"]


@pytest.mark.parametrize("who", ["partner", "service", "nobody", "garbage"])
async def test_a_process_api_does_not_exist_for_anyone_else(
    gw: Gateway, services: dict[str, FakeService], who: str
) -> None:
    headers = {
        "partner": await gw.partner_bearer(),
        "service": await internal_bearer(gw, "service"),
        "nobody": {},
        "garbage": {"Authorization": "Bearer not-a-token"},
    }[who]
    nowhere = await gw.client.post("/nope/v1/orders", headers=headers)

    answers = [
        await gw.client.post("/orders/v1/orders", headers=headers),
        await gw.client.delete("/orders/v1/orders", headers=headers),  # no 405 with an Allow list either
        await gw.client.get("/orders/v1/invoices", headers=headers),
    ]

    assert_problem(nowhere, 404, "not-found")
    for resp in answers:
        body = assert_problem(resp, 404, "not-found")
        assert body["detail"] == nowhere.json()["detail"].replace("/nope/", "/orders/")
        assert "allow" not in resp.headers
    assert untouched(services)
