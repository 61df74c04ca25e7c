"""The kit's Upstream between two tiers: a tier below that is up but waiting on its own upstream
does not open this tier's circuit, and its Retry-After reaches the caller; retries on transport
errors still happen for retry-safe calls only; one Upstream per upstream name and app."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request

from service_kit.app import create_service_app, upstream
from service_kit.errors import UpstreamUnavailable
from service_kit.http import (
    CircuitOpen,
    ServiceToken,
    Upstream,
    UpstreamDegraded,
    UpstreamPolicy,
    configure_upstream,
)
from service_kit.settings import ServiceSettings
from tests.support.tokens import bearer, static_verifier


def _upstream(handler: httpx.MockTransport, *, threshold: int = 2) -> Upstream:
    http = httpx.AsyncClient(transport=handler)
    configure_upstream(http, "orders", UpstreamPolicy(breaker_threshold=threshold, breaker_ttl=60))
    token = ServiceToken(http, token_url="http://gw.test/token", client_id="", client_secret="")
    return Upstream(http, token, base_url="http://orders.test", name="orders")


def _circuit_open_below(_: httpx.Request) -> httpx.Response:
    """What a service of the suite answers when its own breaker towards its upstream is open."""
    problem = {"type": "urn:interchange:problem:upstream-unavailable", "title": "x", "status": 503}
    return httpx.Response(503, json=problem, headers={"Retry-After": "7", "Content-Type": "application/problem+json"})


async def test_a_503_with_retry_after_below_does_not_open_this_tiers_circuit() -> None:
    answers = [_circuit_open_below] * 5 + [lambda _: httpx.Response(200, json={"id": "O-1"})]
    calls = 0

    def orders(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return answers[calls - 1](request)

    api = _upstream(httpx.MockTransport(orders), threshold=2)
    for _ in range(5):
        with pytest.raises(UpstreamDegraded) as degraded:
            await api.get("/v1/orders/O-1")
        assert degraded.value.status == 503 and degraded.value.headers["Retry-After"] == "7"
    # Five failures above a threshold of two, and every call still reached the tier below.
    assert (await api.get("/v1/orders/O-1")).json() == {"id": "O-1"}
    assert calls == 6


async def test_a_problem_saying_its_own_upstream_failed_does_not_count_either() -> None:
    def orders(_: httpx.Request) -> httpx.Response:
        problem = {"type": "urn:interchange:problem:upstream-timeout", "title": "x", "status": 504}
        return httpx.Response(504, json=problem, headers={"Content-Type": "application/problem+json"})

    api = _upstream(httpx.MockTransport(orders), threshold=1)
    for _ in range(3):
        with pytest.raises(UpstreamDegraded) as degraded:
            await api.get("/v1/orders/O-1")
        assert degraded.value.status == 502 and "Retry-After" not in degraded.value.headers


async def test_a_failing_tier_below_still_opens_the_circuit() -> None:
    calls = 0

    def orders(_: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500, json={"type": "urn:interchange:problem:internal-error"})

    api = _upstream(httpx.MockTransport(orders), threshold=2)
    for _ in range(2):
        with pytest.raises(UpstreamUnavailable, match=r"failed \(500\)"):
            await api.get("/v1/orders/O-1")
    with pytest.raises(CircuitOpen) as opened:
        await api.get("/v1/orders/O-1")
    assert calls == 2
    assert opened.value.status == 503 and opened.value.headers["Retry-After"] == "60"


async def test_a_read_is_retried_after_transport_errors_and_an_unkeyed_write_is_not() -> None:
    seen: list[str] = []

    def orders(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) in (1, 2, 4):
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={})

    api = _upstream(httpx.MockTransport(orders), threshold=10)
    assert (await api.get("/v1/orders/O-1")).status_code == 200
    assert seen == ["GET", "GET", "GET"]
    with pytest.raises(UpstreamUnavailable, match="unreachable"):
        await api.post("/v1/orders", json={})
    assert seen == ["GET", "GET", "GET", "POST"]


def _two_tier_app(tmp_path: Path, below: httpx.MockTransport) -> FastAPI:
    router = APIRouter(prefix="/v1")

    @router.get("/things/{thing_id}")
    async def read_thing(thing_id: str, request: Request) -> dict[str, object]:
        resp = await upstream(request.app, "orders").get(f"/v1/orders/{thing_id}")
        return dict(resp.json())

    settings = ServiceSettings.load("kit", data_dir=tmp_path, log_json=False, orders_url="http://orders.test")
    return create_service_app(
        settings, title="kit", description="kit", routers=[router], transport=below, verifier=static_verifier()
    )


async def test_the_caller_gets_503_and_the_retry_after_of_the_tier_below(tmp_path: Path) -> None:
    app = _two_tier_app(tmp_path, httpx.MockTransport(_circuit_open_below))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit.test") as client:
            resp = await client.get("/v1/things/O-1", headers=bearer())
            assert upstream(app, "orders") is upstream(app, "orders")
    assert resp.status_code == 503
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.headers["retry-after"] == "7"
    assert resp.json()["type"] == "urn:interchange:problem:upstream-unavailable"
