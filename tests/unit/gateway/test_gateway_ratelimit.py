"""The gateway's rate limits: per client, by tier and operation class, with the draft IETF headers;
one bucket whatever the URL; streaming untouched; a local share of the limit while Redis is away.

The limiter's clock is frozen (``Clock``) so a window never ends in the middle of a test."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Message

from gateway.counters import redis_storage
from gateway.ratelimit import RateLimitConfigError, RateLimiter, contract_rate_classes
from gateway.routing import Operation
from service_kit.http import RoutingTransport
from tests.unit.gateway.conftest import (
    MARKETPLACE_V1,
    PARTNER_SCOPES,
    FakeService,
    Gateway,
    gateway_settings,
    running_gateway,
    write_contract,
)

PROBLEM = "application/problem+json"
LIMITS = {
    "standard": {"reads": "3/minute", "writes": "2/minute", "exports": "1/hour"},
    "internal": {"reads": "6/minute", "writes": "5/minute"},
}
# The export operation names its own class in the contract.
MARKETPLACE_WITH_CLASSES = MARKETPLACE_V1.replace(
    "      operationId: exportOrders\n",
    "      operationId: exportOrders\n      x-interchange-rate-class: exports\n",
)
ORDER = b'{"marketplace_order_id": "MP-1"}'


class Clock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A port bound but not listening: connections to it are refused, and nobody else can take it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


@pytest.fixture
def limited_contracts(tmp_path: Path) -> Path:
    root = tmp_path / "contracts"
    write_contract(root, "marketplace", "v1", MARKETPLACE_WITH_CLASSES)
    return root


@pytest.fixture
def clock() -> Clock:
    return Clock()


@contextlib.asynccontextmanager
async def limited_gateway(
    tmp_path: Path, contracts: Path, upstream: httpx.AsyncBaseTransport, clock: Clock, **overrides: Any
) -> AsyncIterator[Gateway]:
    settings = gateway_settings(tmp_path, contracts, rate_limits=LIMITS, **overrides)
    async with running_gateway(settings, RoutingTransport({"marketplace.test": upstream})) as gw:
        gw.app.state.rate_limiter.clock = clock
        yield gw


@pytest.fixture
async def gateway(
    tmp_path: Path, limited_contracts: Path, marketplace: FakeService, clock: Clock
) -> AsyncIterator[Gateway]:
    async with limited_gateway(tmp_path, limited_contracts, httpx.ASGITransport(app=marketplace), clock) as gw:
        yield gw


async def bearer(gateway: Gateway, client_id: str = "acme-market", tier: str = "standard") -> dict[str, str]:
    if tier == "standard":
        cid, secret = await gateway.register_partner(client_id)
    else:
        cid, secret = await gateway.register(client_id=client_id, kind="internal", scopes=PARTNER_SCOPES, tier=tier)
    return {"Authorization": f"Bearer {await gateway.token(cid, secret)}"}


async def statuses(gateway: Gateway, auth: dict[str, str], n: int, path: str = "/marketplace/v1/orders") -> list[int]:
    return [(await gateway.client.get(path, headers=auth)).status_code for _ in range(n)]


def state(resp: httpx.Response) -> dict[str, int]:
    """The parameters of the RateLimit header, e.g. {"r": 2, "t": 17}."""
    _, *params = resp.headers["ratelimit"].split(";")
    return {k: int(v) for k, v in (p.split("=") for p in params)}


async def test_limits_follow_the_tier(gateway: Gateway) -> None:
    partner = await bearer(gateway)
    internal = await bearer(gateway, "ops-app", tier="internal")

    assert await statuses(gateway, partner, 5) == [200, 200, 200, 429, 429]
    assert await statuses(gateway, internal, 7) == [200] * 6 + [429]


async def test_a_tier_missing_from_the_table_gets_the_default_tier_never_unlimited(gateway: Gateway) -> None:
    gold = await bearer(gateway, "gold-app", tier="gold")

    assert await statuses(gateway, gold, 4) == [200, 200, 200, 429]


async def test_writes_are_limited_apart_from_reads_and_stricter(gateway: Gateway, marketplace: FakeService) -> None:
    auth = await bearer(gateway)
    post = [
        (await gateway.client.post("/marketplace/v1/orders", content=ORDER, headers=auth)).status_code for _ in range(3)
    ]

    assert post == [200, 200, 429]
    assert await statuses(gateway, auth, 4) == [200, 200, 200, 429]
    assert [s.method for s in marketplace.seen].count("POST") == 2


async def test_an_operation_may_name_its_class_in_the_contract(gateway: Gateway) -> None:
    auth = await bearer(gateway)

    exports = await statuses(gateway, auth, 2, "/marketplace/v1/orders/export")
    first = await gateway.client.get("/marketplace/v1/orders/export", headers=auth)

    assert exports == [200, 429]
    assert first.headers["ratelimit-policy"] == '"exports";q=1;w=3600'
    assert await statuses(gateway, auth, 3) == [200, 200, 200]  # reads are a bucket of their own


async def test_a_class_a_tier_does_not_list_falls_back_to_reads_or_writes(gateway: Gateway) -> None:
    auth = await bearer(gateway, "ops-app", tier="internal")

    resp = await gateway.client.get("/marketplace/v1/orders/export", headers=auth)

    assert resp.headers["ratelimit-policy"] == '"reads";q=6;w=60'


async def test_distinct_urls_share_one_bucket(gateway: Gateway) -> None:
    auth = await bearer(gateway)
    paths = ["/marketplace/v1/orders/MP-1", "/marketplace/v1/orders/MP-2", "/marketplace/v1/orders?page=2"]

    got = [(await gateway.client.get(p, headers=auth)).status_code for p in [*paths, "/marketplace/v1/orders/MP-3"]]

    assert got == [200, 200, 200, 429]


async def test_clients_do_not_share_a_bucket(gateway: Gateway) -> None:
    acme, zenith = await bearer(gateway), await bearer(gateway, "zenith-market")

    assert await statuses(gateway, acme, 4) == [200, 200, 200, 429]
    assert await statuses(gateway, zenith, 1) == [200]


async def test_answers_carry_the_policy_and_what_is_left_of_it(gateway: Gateway) -> None:
    auth = await bearer(gateway)

    answers = [await gateway.client.get("/marketplace/v1/orders", headers=auth) for _ in range(3)]

    assert {r.headers["ratelimit-policy"] for r in answers} == {'"reads";q=3;w=60'}
    assert [state(r)["r"] for r in answers] == [2, 1, 0]
    assert all(1 <= state(r)["t"] <= 60 for r in answers)
    assert all(r.headers["ratelimit"].startswith('"reads";') for r in answers)


async def test_a_refusal_is_a_429_problem_with_retry_after_and_the_service_is_not_called(
    gateway: Gateway, marketplace: FakeService
) -> None:
    auth = await bearer(gateway)
    await statuses(gateway, auth, 3)

    resp = await gateway.client.get("/marketplace/v1/orders/MP-9", headers=auth)

    assert resp.status_code == 429
    assert resp.headers["content-type"] == PROBLEM
    body = resp.json()
    assert body["type"] == "urn:interchange:problem:rate-limited"
    assert body["status"] == 429
    assert "3 reads calls per 60 seconds" in body["detail"]
    assert resp.headers["ratelimit-policy"] == '"reads";q=3;w=60'
    assert state(resp)["r"] == 0
    assert resp.headers["retry-after"] == str(state(resp)["t"])
    assert len(marketplace.seen) == 3
    assert "/v1/orders/MP-9" not in [s.path for s in marketplace.seen]


async def test_calls_refused_for_their_scopes_do_not_count(gateway: Gateway, marketplace: FakeService) -> None:
    cid, secret = await gateway.register(
        client_id="reader", kind="partner", partner_id="reader", channel="marketplace", scopes=PARTNER_SCOPES
    )
    reader = {"Authorization": f"Bearer {await gateway.token(cid, secret, scope='marketplace:orders.read')}"}

    refused = [(await gateway.client.post("/marketplace/v1/orders", content=ORDER, headers=reader)) for _ in range(3)]

    assert [r.status_code for r in refused] == [403, 403, 403]  # writes: 2/minute, none spent
    assert marketplace.seen == []


async def test_the_next_window_admits_again(gateway: Gateway, clock: Clock) -> None:
    auth = await bearer(gateway)
    await statuses(gateway, auth, 3)
    refused = await gateway.client.get("/marketplace/v1/orders", headers=auth)

    clock.now += int(refused.headers["retry-after"])
    again = await gateway.client.get("/marketplace/v1/orders", headers=auth)

    assert (refused.status_code, again.status_code) == (429, 200)
    assert state(again)["r"] == 2


async def test_refusals_are_counted_in_the_metrics(gateway: Gateway) -> None:
    auth = await bearer(gateway)
    await statuses(gateway, auth, 5)

    metrics = await gateway.scrape()

    assert 'interchange_gateway_rate_limited_total{rate_class="reads",tier="standard"} 2.0' in metrics


class ChunkedUpstream(httpx.AsyncBaseTransport):
    """Sends its second chunk only once the gateway has passed the first one down: a gateway that
    buffered the response would never get it."""

    def __init__(self) -> None:
        self.first_chunk_passed_down = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/plain"}, stream=_Chunks(self))


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, upstream: ChunkedUpstream) -> None:
        self.upstream = upstream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"first,"
        await self.upstream.first_chunk_passed_down.wait()
        yield b"second"


async def test_a_streamed_response_still_streams_with_the_limiter_on(
    tmp_path: Path, limited_contracts: Path, clock: Clock
) -> None:
    upstream = ChunkedUpstream()
    async with limited_gateway(tmp_path, limited_contracts, upstream, clock) as gw:
        auth = await bearer(gw)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/marketplace/v1/orders",
            "raw_path": b"/marketplace/v1/orders",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"gateway.test"), (b"authorization", auth["Authorization"].encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("gateway.test", 80),
        }
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)
            if message.get("body") == b"first,":
                upstream.first_chunk_passed_down.set()

        # The bound only turns a buffering gateway's deadlock into a failure; nothing is timed.
        await asyncio.wait_for(gw.app(scope, receive, send), timeout=30)

    start_message, *bodies = sent
    assert start_message["status"] == 200
    assert (b"ratelimit-policy", b'"reads";q=3;w=60') in start_message["headers"]
    assert [m["body"] for m in bodies if m["body"]] == [b"first,", b"second"]


async def test_redis_unreachable_each_replica_admits_its_share_and_never_fails(
    tmp_path: Path, limited_contracts: Path, marketplace: FakeService, clock: Clock, refusing_port: int
) -> None:
    storage = f"redis://127.0.0.1:{refusing_port}/0"
    overrides = {"rate_limit_storage": storage, "rate_limit_replicas": 2, "rate_limit_storage_timeout": 0.5}
    upstream = httpx.ASGITransport(app=marketplace)
    async with limited_gateway(tmp_path, limited_contracts, upstream, clock, **overrides) as gw:
        auth = await bearer(gw)
        answers = [await gw.client.get("/marketplace/v1/orders", headers=auth) for _ in range(4)]
        metrics = await gw.scrape()

    assert [r.status_code for r in answers] == [200, 429, 429, 429]  # 3/minute over 2 replicas: 1 here
    assert answers[0].headers["ratelimit-policy"] == '"reads";q=1;w=60'
    assert answers[1].headers["content-type"] == PROBLEM
    assert len(marketplace.seen) == 1
    assert "interchange_gateway_rate_limit_storage_up 0.0" in metrics
    assert "interchange_gateway_rate_limit_local_decisions_total 4.0" in metrics


class FlakyCounters:
    """A shared storage that can be switched off: what ``limits``' Redis storage raises when down."""

    def __init__(self) -> None:
        self.up = True
        self.counts: dict[str, int] = {}
        self.calls = 0

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        self.calls += 1
        if not self.up:
            raise ConnectionRefusedError("redis is down")
        self.counts[key] = self.counts.get(key, 0) + amount
        return self.counts[key]


READ = Operation(method="GET", path="/marketplace/v1/orders", operation_id="listOrders", scopes=())


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []

    def warning(self, event: str, **_: Any) -> None:
        self.events.append(event)

    info = warning


async def test_the_limiter_goes_back_to_redis_when_it_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    logs = Recorder()
    monkeypatch.setattr("gateway.ratelimit.log", logs)
    shared, clock = FlakyCounters(), Clock()
    limiter = RateLimiter(
        limits={"standard": {"reads": "10/hour", "writes": "10/hour"}},
        default_tier="standard",
        shared=shared,
        replicas=5,
        retry_interval=30,
        clock=clock,
    )

    before = await limiter.decide("acme", "standard", READ)
    shared.up = False
    down = [await limiter.decide("acme", "standard", READ) for _ in range(3)]
    calls_while_down = shared.calls
    shared.up = True
    still_local = await limiter.decide("acme", "standard", READ)  # before the retry interval
    clock.now += 30
    back = await limiter.decide("acme", "standard", READ)

    assert (before.allowed, before.remaining, before.policy.quota) == (True, 9, 10)
    assert [(d.allowed, d.policy.quota) for d in down] == [(True, 2), (True, 2), (False, 2)]
    assert calls_while_down == 2  # the failed call, then no further attempt inside the interval
    assert (still_local.allowed, still_local.policy.quota) == (False, 2)
    assert (back.allowed, back.remaining, back.policy.quota) == (True, 8, 10)
    assert logs.events == ["rate_limit_storage_unavailable", "rate_limit_storage_recovered"]


async def test_the_redis_storage_is_limits_async_redispy_with_a_blocking_pool() -> None:
    from limits.aio.storage import RedisStorage
    from redis.asyncio import BlockingConnectionPool

    counters = redis_storage("redis://127.0.0.1:6399/2", timeout=0.1, connections=7)

    assert counters is not None
    assert isinstance(counters.storage, RedisStorage)
    assert isinstance(counters.pool, BlockingConnectionPool)
    assert counters.pool.max_connections == 7
    assert redis_storage("memory://", timeout=0.1, connections=1) is None
    await counters.aclose()


def test_a_tier_claim_the_table_lacks_is_the_default_tier() -> None:
    limiter = RateLimiter(limits=LIMITS, default_tier="standard")

    assert [limiter.tier_of(t) for t in ("internal", "gold", None, ["internal"])] == [
        "internal",
        "standard",
        "standard",
        "standard",
    ]


@pytest.mark.parametrize(
    ("limits", "default_tier"),
    [
        ({"standard": {"reads": "lots", "writes": "1/minute"}}, "standard"),
        ({"standard": {"reads": "1/minute"}}, "standard"),
        ({"standard": {"reads": "1/minute;5/hour", "writes": "1/minute"}}, "standard"),
        ({"standard": {"reads": "1/minute", "writes": "1/minute", "Bad Name": "1/minute"}}, "standard"),
        ({"standard": {"reads": "1/minute", "writes": "1/minute"}}, "gold"),
    ],
)
def test_a_table_the_gateway_cannot_run_with_stops_it_at_start_up(
    limits: dict[str, dict[str, str]], default_tier: str
) -> None:
    with pytest.raises(RateLimitConfigError):
        RateLimiter(limits=limits, default_tier=default_tier)


def test_only_memory_and_redis_storages(tmp_path: Path) -> None:
    with pytest.raises(RateLimitConfigError):
        redis_storage("memcached://127.0.0.1:11211", timeout=0.1, connections=1)


def test_rate_classes_come_from_the_contracts(limited_contracts: Path, tmp_path: Path) -> None:
    assert contract_rate_classes(limited_contracts) == {("GET", "/marketplace/v1/orders/export"): "exports"}

    bad = tmp_path / "bad"
    write_contract(
        bad,
        "marketplace",
        "v1",
        MARKETPLACE_V1.replace("exportOrders\n", "exportOrders\n      x-interchange-rate-class: Big Exports\n"),
    )
    with pytest.raises(RateLimitConfigError):
        contract_rate_classes(bad)
