"""Orders taken in while one is being handed to the orders API go to it together, in one call to
``POST /v1/order-batches`` (``experience_apis.marketplace.order_batches``), and each partner gets
the answer its own call would have given."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from experience_apis.marketplace.app import create_app
from service_kit.http import RoutingTransport
from service_kit.settings import ServiceSettings
from tests.support.tokens import static_verifier
from tests.unit.experience_apis.conftest import Marketplace
from tests.unit.experience_apis.marketplace_fakes import ACME, FakeOrdersApi, order_body_v2, problem


@dataclass
class Gated(Marketplace):
    gate: asyncio.Event  # the orders API holds its first call until it is set
    held: list[httpx.Request]


async def until(check: Callable[[], bool]) -> None:
    """Polls ``check()`` until it is true (a bounded loop, not a timing claim)."""
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("still not true after 10 s")


@pytest.fixture
async def gated(tmp_path: Path) -> AsyncIterator[Gated]:
    fake, gate = FakeOrdersApi(), asyncio.Event()
    held: list[httpx.Request] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        if not held:
            held.append(request)
            await gate.wait()
        return fake.handle(request)

    settings = ServiceSettings.load(
        "marketplace", data_dir=tmp_path, seed_demo=True, log_json=False, orders_url="http://orders.test"
    )
    transport = RoutingTransport({"orders.test": httpx.MockTransport(handle)})
    app = create_app(settings, transport=transport, verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://marketplace.test") as c:
            yield Gated(app=app, client=c, orders=fake, gate=gate, held=held)


def submit(marketplace: Marketplace, marketplace_order_id: str) -> asyncio.Task[httpx.Response]:
    headers = ACME | {
        "Idempotency-Key": f"key-{marketplace_order_id}",
        "X-Correlation-ID": f"cid-{marketplace_order_id}",
    }
    body = order_body_v2(marketplace_order_id=marketplace_order_id)
    return asyncio.create_task(marketplace.client.post("/v2/orders", json=body, headers=headers))


def paths(marketplace: Marketplace) -> list[str]:
    return [r.url.path for r in marketplace.orders.posted()]


async def test_orders_taken_in_meanwhile_go_in_one_call_and_each_gets_its_own_answer(gated: Gated) -> None:
    refused = problem(
        422,
        "business-rule-violation",
        "SKU CABLE-USB-C is discontinued: #/lines/1/sku.",
        errors=[{"pointer": "#/lines/1/sku", "in": "body", "detail": "CABLE-USB-C is discontinued."}],
    )
    gated.orders.refusals["MP-3"] = refused
    first = submit(gated, "MP-1")
    await until(lambda: len(gated.held) == 1)  # MP-1's call is under way
    rest = [submit(gated, f"MP-{n}") for n in (2, 3, 4)]
    batches = gated.app.state.order_batches
    await until(lambda: batches.waiting == 3)
    gated.gate.set()
    answers = [await first, *[await task for task in rest]]

    assert paths(gated) == ["/v1/orders", "/v1/order-batches"]
    entries = json.loads(gated.orders.posted()[1].content)["entries"]
    assert sorted((e["idempotency_key"], e["correlation_id"]) for e in entries) == [
        (f"marketplace:acme-market:MP-{n}", f"cid-MP-{n}") for n in (2, 3, 4)
    ]
    assert [a.status_code for a in answers] == [202, 202, 422, 202], [a.text for a in answers]
    accepted = [a.json()["order_reference"] for a in answers if a.status_code == 202]
    assert len(set(accepted)) == 3
    # The refusal in the partner's words, as the single call's: its pointer and SKU in the dialect.
    assert answers[2].json()["errors"] == [
        {"pointer": "#/lines/1/seller_sku", "in": "body", "detail": "ACME-USB is discontinued."}
    ]
    status = await gated.client.get("/v2/orders/MP-4", headers=ACME)
    assert status.status_code == 200 and status.json()["order_reference"] == accepted[-1]


async def test_an_orders_service_without_batches_gets_each_order_on_its_own(gated: Gated) -> None:
    first = submit(gated, "MP-1")
    await until(lambda: len(gated.held) == 1)
    rest = [submit(gated, f"MP-{n}") for n in (2, 3)]
    await until(lambda: gated.app.state.order_batches.waiting == 2)
    gated.orders.batches = False
    gated.gate.set()
    answers = [await first, *[await task for task in rest]]

    assert [a.status_code for a in answers] == [202, 202, 202]
    assert paths(gated) == ["/v1/orders", "/v1/order-batches", "/v1/orders", "/v1/orders"]


@pytest.mark.parametrize("failure", ["down", "500"])
async def test_a_batch_call_that_fails_fails_each_order_as_its_own_call_would_and_frees_its_key(
    gated: Gated, failure: str
) -> None:
    first = submit(gated, "MP-1")
    await until(lambda: len(gated.held) == 1)
    rest = [submit(gated, f"MP-{n}") for n in (2, 3)]
    await until(lambda: gated.app.state.order_batches.waiting == 2)
    if failure == "down":
        gated.orders.down = True
    else:
        gated.orders.answer = httpx.Response(500, json={"type": "about:blank", "status": 500})
    gated.gate.set()
    failed = [await first, *[await task for task in rest]]
    assert [a.status_code for a in failed] == [502, 502, 502]
    assert all(a.headers["content-type"] == "application/problem+json" for a in failed)

    gated.orders.down, gated.orders.answer = False, None
    retried = [await submit(gated, f"MP-{n}") for n in (1, 2, 3)]
    assert [a.status_code for a in retried] == [202, 202, 202], [a.text for a in retried]
