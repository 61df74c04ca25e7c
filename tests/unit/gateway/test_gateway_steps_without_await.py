"""The proxy's steps do their work without a coroutine when nothing has to be waited for (a
scope check, the sunset, a call without a body to read, the rate limit on ``memory://``); they
return an awaitable only when they must wait: a body to read, a shared (Redis) counter."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.policy import check_request_body, refuse_after_sunset, require_scopes
from gateway.proxy import Exchange
from gateway.ratelimit import RateLimiter, rate_limit
from gateway.routing import ApiRoute
from service_kit.errors import Forbidden, TooManyRequests
from tests.unit.gateway.conftest import Gateway, gateway_settings, running_gateway, write_contract
from tests.unit.gateway.test_gateway_policy import ORDER, WITH_BODY

LIMITS = {"standard": {"reads": "2/minute", "writes": "1/minute"}}
CLAIMS = {"client_id": "acme-market", "scope": "marketplace:orders.read marketplace:orders.write"}


@pytest.fixture
async def route(tmp_path: Path) -> AsyncIterator[ApiRoute]:
    contracts = tmp_path / "contracts"
    write_contract(contracts, "marketplace", "v1", WITH_BODY)
    gw: Gateway
    async with running_gateway(gateway_settings(tmp_path, contracts)) as gw:
        found = gw.app.state.routing_table.get("marketplace", "v1")
        assert found is not None
        yield found


def _exchange(route: ApiRoute, method: str, path: str, **fields: Any) -> Exchange:
    operations = route.find(path)
    assert operations is not None
    return Exchange(
        scope={},
        route=route,
        operation=operations[method],
        service_path=path,
        raw_service_path=path.encode(),
        headers=[],
        token="t",
        receive=fields.pop("receive", None),
        claims=dict(CLAIMS),
        **fields,
    )


def test_scopes_sunset_and_a_call_without_a_body_need_no_await(route: ApiRoute) -> None:
    exchange = _exchange(route, "GET", "/v1/orders/MP-1")

    assert require_scopes()(exchange) is None
    assert refuse_after_sunset()(exchange) is None
    assert check_request_body(max_bytes=4096, max_depth=32)(exchange) is None


def test_a_missing_scope_is_refused_at_once(route: ApiRoute) -> None:
    exchange = _exchange(route, "POST", "/v1/orders")
    exchange.claims = {"client_id": "acme-market", "scope": "marketplace:orders.read"}

    with pytest.raises(Forbidden):
        require_scopes()(exchange)


async def test_a_body_to_validate_is_read_by_the_awaitable_the_step_returns(route: ApiRoute) -> None:
    body = json.dumps(ORDER).encode()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    exchange = _exchange(route, "POST", "/v1/orders", receive=receive, has_body=True)
    exchange.content_type, exchange.content_length = b"application/json", len(body)

    pending = check_request_body(max_bytes=4096, max_depth=32)(exchange)

    assert inspect.isawaitable(pending)
    await pending
    assert exchange.body == body


def test_the_rate_limit_in_memory_decides_without_await(route: ApiRoute) -> None:
    step = rate_limit(RateLimiter(limits=LIMITS, default_tier="standard"))
    first = _exchange(route, "GET", "/v1/orders/MP-1")

    assert step(first) is None
    assert (b"ratelimit-policy", b'"reads";q=2;w=60') in first.response_headers
    assert step(_exchange(route, "GET", "/v1/orders/MP-2")) is None
    with pytest.raises(TooManyRequests):
        step(_exchange(route, "GET", "/v1/orders/MP-3"))


class _Shared:
    """A shared storage that answers at once (as Redis would, after a round trip)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        self.counts[key] = self.counts.get(key, 0) + amount
        return self.counts[key]


async def test_the_rate_limit_on_a_shared_storage_returns_an_awaitable(route: ApiRoute) -> None:
    shared = _Shared()
    step = rate_limit(RateLimiter(limits=LIMITS, default_tier="standard", shared=shared))
    exchange = _exchange(route, "GET", "/v1/orders/MP-1")

    pending = step(exchange)

    assert inspect.isawaitable(pending)
    await pending
    assert list(shared.counts.values()) == [1]
    assert any(name == b"ratelimit" and value.startswith(b'"reads";r=1;') for name, value in exchange.response_headers)
