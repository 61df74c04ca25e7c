"""Races at intake and in the worker: one Idempotency-Key sent ten times at once, two orders for
the last unit, and the kit's guards on calls below (429 Retry-After, circuit breaker)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from process_apis.orders.app import create_app
from process_apis.orders.flows.worker import process_pending_orders
from service_kit.http import CircuitOpen, ServiceToken, Upstream, UpstreamPolicy, configure_upstream
from tests.support.tokens import static_verifier
from tests.unit.process_apis.conftest import Orders, as_service, line, order_body, orders_settings
from tests.unit.process_apis.orders_fakes import ERP, FakeTier
from tests.unit.process_apis.saga_helpers import order_row, run_until_stopped, submit


async def test_ten_concurrent_requests_with_one_key_make_exactly_one_order(orders: Orders) -> None:
    headers = as_service(key="marketplace:acme-market:MP-RACE")
    body = order_body("MP-RACE")
    answers = await asyncio.gather(*(orders.client.post("/v1/orders", json=body, headers=headers) for _ in range(10)))
    codes = sorted(a.status_code for a in answers)
    assert set(codes) <= {202, 409}, [a.text for a in answers]
    assert codes.count(202) >= 1
    assert len({a.json()["id"] for a in answers if a.status_code == 202}) == 1
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers if a.status_code == 409)
    assert len(await orders.find(partner="acme-market")) == 1


async def test_two_orders_for_the_last_unit_exactly_one_gets_it(tmp_path: Path, tier: FakeTier) -> None:
    tier.stock[("WIDGET-RED", "AMS")] = 1
    app = create_app(
        orders_settings(tmp_path, worker_concurrency=2), transport=tier.transport(), verifier=static_verifier()
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders.test") as client:
            orders = Orders(app=app, client=client, tier=tier)
            ids = [await submit(orders, order_body(f"MP-{n}", lines=[line("WIDGET-RED")])) for n in range(2)]
            await process_pending_orders(app)
            statuses = sorted([await orders.status(i) for i in ids])
    assert statuses == ["rejected", "released"]
    assert tier.stock[("WIDGET-RED", "AMS")] == 0
    assert len(tier.sales_orders) == 1


def _upstream(handler: httpx.MockTransport, policy: UpstreamPolicy) -> Upstream:
    http = httpx.AsyncClient(transport=handler)
    configure_upstream(http, "erp", policy)
    token = ServiceToken(http, token_url="http://gw.test/token", client_id="", client_secret="")
    return Upstream(http, token, base_url="http://erp.test", name="erp")


async def test_a_429_is_waited_out_as_retry_after_says_then_the_call_goes_through() -> None:
    seen: list[str] = []

    def erp(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) == 1:
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"detail": "quota"})
        return httpx.Response(201, json={})

    api = _upstream(httpx.MockTransport(erp), UpstreamPolicy())
    # A POST without an Idempotency-Key is not retry-safe, but a 429 was never processed: resent.
    assert (await api.post("/v1/activities", json={}, retry_safe=False)).status_code == 201
    assert seen == ["POST", "POST"]


async def test_the_circuit_opens_after_repeated_failures_and_calls_stop() -> None:
    calls = 0

    def erp(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503)

    api = _upstream(httpx.MockTransport(erp), UpstreamPolicy(breaker_threshold=2, breaker_ttl=60))
    for _ in range(2):
        with pytest.raises(Exception, match="failed"):
            await api.post("/v1/sales-orders", json={}, retry_safe=False)
    with pytest.raises(CircuitOpen) as opened:
        await api.get("/v1/customers/C-1")
    assert calls == 2
    assert opened.value.status == 503 and opened.value.headers["Retry-After"] == "60"


async def test_an_open_circuit_is_a_technical_failure_for_the_saga(tmp_path: Path, tier: FakeTier) -> None:
    app = create_app(
        orders_settings(tmp_path, breaker_threshold=1), transport=tier.transport(), verifier=static_verifier()
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders.test") as client:
            orders = Orders(app=app, client=client, tier=tier)
            order_id = await submit(orders)
            tier.down.add(ERP)
            await run_until_stopped(orders)
            order = (await orders.get(order_id)).json()
            row = await order_row(orders, order_id)
    assert order["status"] == "on_hold" and row.failed_step == "create_sales_order"
    assert "paused" in (row.last_error or "")  # the later attempts never reached the ERP
