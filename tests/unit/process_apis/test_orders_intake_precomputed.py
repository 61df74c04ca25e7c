"""POST /v1/orders is a ``@precomputed`` route (service_kit.precomputed): served without FastAPI's
per-request dependency solver, with the answers and problems FastAPI gives (the same request sent
through FastAPI, by setting a dependency override, answers the same)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.precomputed import post, problem
from tests.unit.process_apis.conftest import Orders, as_service, order_body


async def _post(
    orders: Orders, content: bytes, headers: dict[str, str], *, fastapi_way: bool = False
) -> httpx.Response:
    return await post(
        orders.app, orders.client, "/v1/orders", content=content, headers=headers, fastapi_way=fastapi_way
    )


JSON = {"Content-Type": "application/json"}


async def test_intake_skips_the_solver_and_a_retry_through_fastapi_replays_the_same_bytes(
    orders: Orders, solved: list[object]
) -> None:
    headers = as_service(key="intake-1") | JSON
    content = json.dumps(order_body()).encode()

    first = await _post(orders, content, headers)
    assert solved == []
    retried = await _post(orders, content, headers, fastapi_way=True)
    again = await _post(orders, content, as_service(key="intake-2") | JSON)  # same order, another key

    assert solved, "the retry went through FastAPI's solver"
    assert first.status_code == retried.status_code == 202, first.text
    assert first.content == retried.content
    assert first.headers["location"] == retried.headers["location"] == first.json()["status_url"]
    assert again.status_code == 409, again.text
    assert again.json()["existing_order_id"] == first.json()["id"]


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"", JSON),  # no body
        (json.dumps(order_body()).encode(), {"Content-Type": "text/plain"}),
        (b'{"channel": ', JSON),  # bad JSON
        (json.dumps(order_body(lines=[], currency="euro")).encode(), JSON),
        (json.dumps(order_body(unknown=1)).encode(), JSON),
        (json.dumps(order_body()).encode(), JSON | {"X-Interchange-Partner": "p" * 65}),
        (json.dumps(order_body()).encode(), JSON | {"Idempotency-Key": None}),
        (json.dumps(order_body(customer_id="C-NOPE")).encode(), JSON),  # a business rule, after validation
    ],
)
async def test_a_request_it_cannot_take_is_the_problem_fastapi_answers(
    orders: Orders, solved: list[object], content: bytes, headers: dict[str, Any]
) -> None:
    sent = {name: value for name, value in (as_service(key="intake-3") | headers).items() if value is not None}

    fast = await _post(orders, content, sent)
    assert solved == []
    plain = await _post(orders, content, sent, fastapi_way=True)

    assert 400 <= fast.status_code < 500, fast.text
    assert fast.status_code == plain.status_code
    assert fast.headers["content-type"] == "application/problem+json"
    assert problem(fast) == problem(plain)
