"""POST /v1/orders and /v2/orders are ``@precomputed`` routes (service_kit.precomputed): served
without FastAPI's per-request dependency solver, with the answers and problems FastAPI gives (the
same request sent through FastAPI, by setting a dependency override, answers the same)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.precomputed import post, problem
from tests.unit.experience_apis.conftest import Marketplace
from tests.unit.experience_apis.marketplace_fakes import ACME, order_body, order_body_v2


async def _post(
    marketplace: Marketplace, path: str, content: bytes, headers: dict[str, str], *, fastapi_way: bool = False
) -> httpx.Response:
    return await post(
        marketplace.app, marketplace.client, path, content=content, headers=headers, fastapi_way=fastapi_way
    )


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(("path", "body"), [("/v2/orders", order_body_v2()), ("/v1/orders", order_body())])
async def test_intake_skips_the_solver_and_a_retry_through_fastapi_replays_the_same_bytes(
    marketplace: Marketplace, solved: list[object], path: str, body: dict[str, Any]
) -> None:
    headers = dict(ACME) | JSON | {"Idempotency-Key": "intake-1"}
    content = json.dumps(body).encode()

    first = await _post(marketplace, path, content, headers)
    assert solved == []
    retried = await _post(marketplace, path, content, headers, fastapi_way=True)

    assert solved, "the retry went through FastAPI's solver"
    assert first.status_code == retried.status_code == 202, first.text
    assert first.content == retried.content
    assert first.headers["location"] == retried.headers["location"] == first.json()["status_url"]
    assert len(marketplace.orders.orders) == 1


@pytest.mark.parametrize(
    ("path", "content", "headers"),
    [
        ("/v2/orders", b"", JSON),  # no body
        ("/v2/orders", json.dumps(order_body_v2()).encode(), {"Content-Type": "text/plain"}),
        ("/v2/orders", b'{"marketplace_order_id": ', JSON),  # bad JSON
        ("/v2/orders", json.dumps(order_body_v2(lines=[])).encode(), JSON),
        ("/v2/orders", json.dumps(order_body_v2(extra=1, buyer={})).encode(), JSON),
        ("/v2/orders", json.dumps(order_body_v2()).encode(), JSON | {"Idempotency-Key": ""}),
        ("/v2/orders", json.dumps(order_body_v2()).encode(), JSON | {"Idempotency-Key": " "}),  # the kit's 400
        ("/v2/orders", json.dumps(order_body_v2(currency="EUR")).encode(), JSON | {"Idempotency-Key": None}),
        ("/v1/orders", json.dumps(order_body(currency_code=7)).encode(), JSON),
        ("/v1/orders", json.dumps(order_body()).encode(), JSON | {"Idempotency-Key": "x" * 256}),
    ],
)
async def test_a_request_it_cannot_take_is_the_problem_fastapi_answers(
    marketplace: Marketplace, solved: list[object], path: str, content: bytes, headers: dict[str, Any]
) -> None:
    sent = dict(ACME) | {"Idempotency-Key": "intake-2"} | headers
    sent = {name: value for name, value in sent.items() if value is not None}

    fast = await _post(marketplace, path, content, sent)
    assert solved == []
    plain = await _post(marketplace, path, content, sent, fastapi_way=True)

    assert 400 <= fast.status_code < 500, fast.text
    assert fast.status_code == plain.status_code
    assert fast.headers["content-type"] == "application/problem+json"
    assert problem(fast) == problem(plain)
    assert marketplace.orders.orders == {}
