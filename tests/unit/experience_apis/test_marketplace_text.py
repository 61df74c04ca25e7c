"""Control characters in names and addresses are refused at the edge (422 naming the field) and
never reach the orders API, in both versions of the dialect."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.experience_apis.conftest import Marketplace
from tests.unit.experience_apis.marketplace_fakes import ACME, PROBLEM, order_body, order_body_v2


@pytest.mark.parametrize(
    ("part", "field", "value", "pointer"),
    [
        ("shipping_address", "street", "Damrak 1\x00; DROP", "#/shipping_address/street"),
        ("shipping_address", "city", "Amster\ndam", "#/shipping_address/city"),
        ("buyer", "name", "Jane\tDoe", "#/buyer/name"),
        ("buyer", "email", "jane\x00@example.com", "#/buyer/email"),
    ],
)
@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_a_control_character_is_a_422_naming_the_field(
    marketplace: Marketplace, version: str, part: str, field: str, value: str, pointer: str
) -> None:
    body: dict[str, Any] = order_body() if version == "v1" else order_body_v2()
    body[part] = {**body[part], field: value}

    headers = {**ACME, "Idempotency-Key": "acme-req-1"} if version == "v2" else ACME
    resp = await marketplace.client.post(f"/{version}/orders", json=body, headers=headers)

    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == PROBLEM
    assert [e["pointer"] for e in resp.json()["errors"]] == [pointer]
    assert pointer in resp.json()["detail"]
    assert marketplace.orders.requests == []
