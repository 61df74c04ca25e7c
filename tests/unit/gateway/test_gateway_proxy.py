"""The proxy, over both forwarders (forward.py): the in-process suite's httpx transport, and
pyreqwest over real sockets to a service served by uvicorn, as a deployed gateway runs."""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx
import pytest

from service_kit.http import RoutingTransport
from tests.support.tokens import Bearer as ForeignBearer
from tests.unit.gateway.conftest import (
    FORWARDERS,
    FakeService,
    Gateway,
    gateway_over,
    gateway_settings,
    running_gateway,
    serving,
)

PROBLEM = "application/problem+json"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(params=FORWARDERS)
async def gateway(
    request: pytest.FixtureRequest, tmp_path: Path, contracts_dir: Path, marketplace: FakeService
) -> AsyncIterator[Gateway]:
    async with gateway_over(request.param, tmp_path, contracts_dir, marketplace, http_read_timeout=0.5) as gw:
        yield gw


async def test_a_request_reaches_the_service_with_body_query_and_identity(
    gateway: Gateway, marketplace: FakeService
) -> None:
    auth = await gateway.partner_bearer()
    marketplace.status = 202
    marketplace.headers = [
        (b"content-type", b"application/json"),
        (b"x-from-service", b"yes"),
        (b"connection", b"x-service-hop"),
        (b"x-service-hop", b"1"),
        (b"keep-alive", b"timeout=5"),
    ]
    marketplace.body = b'{"order_status": "PENDING"}'
    body = b'{"marketplace_order_id": "MP-1"}'

    resp = await gateway.client.post(
        "/marketplace/v1/orders?dry_run=false&tag=a%20b",
        content=body,
        headers={
            **auth,
            "content-type": "application/json",
            "x-correlation-id": "cid-123",
            "traceparent": TRACEPARENT,
            "x-custom": "kept",
            "connection": "keep-alive, x-caller-hop",
            "x-caller-hop": "1",
            "keep-alive": "timeout=5",
            "te": "trailers",
            "proxy-authorization": "Basic c2VjcmV0",
            "x-interchange-partner": "zenith-market",
        },
    )

    assert resp.status_code == 202
    assert resp.content == b'{"order_status": "PENDING"}'
    assert resp.headers["x-from-service"] == "yes"
    assert "x-service-hop" not in resp.headers
    assert "keep-alive" not in resp.headers
    assert resp.headers.get_list("x-correlation-id") == ["cid-123"]
    [seen] = marketplace.seen
    assert (seen.method, seen.path, seen.query) == ("POST", "/v1/orders", b"dry_run=false&tag=a%20b")
    assert seen.body == body
    assert seen.header("authorization") == auth["Authorization"]
    assert seen.header("x-correlation-id") == "cid-123"
    assert (
        seen.header(
            "traceparent",
        ).split("-")[1]
        == TRACEPARENT.split("-")[1]
    )
    assert seen.header("x-custom") == "kept"
    assert seen.header("content-type") == "application/json"
    assert seen.header("host") == gateway.upstream_host
    assert seen.header("x-forwarded-host") == "gateway.test"
    for dropped in ("x-caller-hop", "keep-alive", "te", "proxy-authorization", "x-interchange-partner"):
        assert seen.header(dropped) is None, dropped
    assert seen.header("connection") in (None, "keep-alive")  # the hop to the service has its own


async def test_path_templates_route_to_the_service_path(gateway: Gateway, marketplace: FakeService) -> None:
    auth = await gateway.partner_bearer()

    one = await gateway.client.get("/marketplace/v1/orders/MP-1", headers=auth)
    literal = await gateway.client.get("/marketplace/v1/orders/export", headers=auth)

    assert (one.status_code, literal.status_code) == (200, 200)
    assert [s.path for s in marketplace.seen] == ["/v1/orders/MP-1", "/v1/orders/export"]
    metrics = await gateway.scrape()
    assert 'route="/marketplace/v1/orders/{marketplace_order_id}"' in metrics


@pytest.mark.parametrize(
    "path",
    [
        "/nope/v1/orders",
        "/marketplace/v2/orders",
        "/orders/v1/orders",  # process APIs are not routed from outside (yet)
        "/erp/v1/items/WIDGET-BLUE",  # system APIs never are
        "/marketplace/v1/invoices",  # not in the contract
        "/marketplace/v1/orders/MP-1/lines",
        "/marketplace/v1/orders/%2e%2e",  # a dot segment
        "/marketplace%2Fv1/orders",  # an encoded slash that would move the version boundary
    ],
)
async def test_what_the_contracts_do_not_publish_is_404_without_touching_a_service(
    gateway: Gateway, marketplace: FakeService, path: str
) -> None:
    auth = await gateway.partner_bearer()

    resp = await gateway.client.get(path, headers=auth)

    assert resp.status_code == 404
    assert resp.headers["content-type"] == PROBLEM
    assert resp.json()["type"] == "urn:interchange:problem:not-found"
    assert marketplace.seen == []


async def test_a_method_the_contract_does_not_publish_is_405(gateway: Gateway, marketplace: FakeService) -> None:
    resp = await gateway.client.delete("/marketplace/v1/orders", headers=await gateway.partner_bearer())

    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET, POST"
    assert resp.headers["content-type"] == PROBLEM
    assert marketplace.seen == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic YWNtZTpzZWNyZXQ="},
        ForeignBearer("marketplace:orders.read"),  # well formed, signed by a key the gateway never had
    ],
    ids=["missing", "garbage", "basic", "foreign"],
)
async def test_no_valid_token_is_401_without_touching_the_service(
    gateway: Gateway, marketplace: FakeService, headers: Mapping[str, str]
) -> None:
    resp = await gateway.client.get("/marketplace/v1/orders", headers=headers)

    assert resp.status_code == 401
    assert resp.headers["content-type"] == PROBLEM
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert marketplace.seen == []


async def test_a_service_error_is_replaced_by_our_own_problem(gateway: Gateway, marketplace: FakeService) -> None:
    marketplace.status = 500
    marketplace.headers = [(b"content-type", b"text/plain")]
    marketplace.body = b'Traceback (most recent call last):\n  File "/srv/app.py", line 1\nKeyError: db_password'

    resp = await gateway.client.get("/marketplace/v1/orders", headers=await gateway.partner_bearer())

    assert resp.status_code == 502
    assert resp.headers["content-type"] == PROBLEM
    assert resp.json()["type"] == "urn:interchange:problem:upstream-unavailable"
    assert "Traceback" not in resp.text
    assert "db_password" not in resp.text


async def test_a_client_error_of_the_service_passes_through(gateway: Gateway, marketplace: FakeService) -> None:
    marketplace.status = 404
    marketplace.headers = [(b"content-type", b"application/problem+json")]
    marketplace.body = b'{"type": "urn:interchange:problem:not-found", "title": "Not found", "status": 404}'

    resp = await gateway.client.get("/marketplace/v1/orders/MP-404", headers=await gateway.partner_bearer())

    assert resp.status_code == 404
    assert resp.content == marketplace.body


async def test_a_problems_instance_is_the_path_the_partner_called(gateway: Gateway, marketplace: FakeService) -> None:
    problem = {"type": "urn:interchange:problem:not-found", "status": 404, "instance": "/v1/orders/MP-404"}
    marketplace.status = 404
    marketplace.body = json.dumps(problem).encode()
    marketplace.headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(marketplace.body)).encode()),
    ]

    resp = await gateway.client.get("/marketplace/v1/orders/MP-404", headers=await gateway.partner_bearer())

    assert resp.status_code == 404
    assert resp.json() == problem | {"instance": "/marketplace/v1/orders/MP-404"}
    assert resp.headers["content-length"] == str(len(resp.content))
    assert resp.headers["content-type"] == PROBLEM
    assert "ratelimit" in resp.headers  # the gateway's own headers still go on


@pytest.mark.parametrize(
    ("headers", "instance"),
    [
        ([(b"content-type", b"application/problem+json")], "https://status.example/incidents/7"),
        ([(b"content-type", b"application/json")], "/v1/orders/MP-1"),
    ],
    ids=["not-a-service-path", "not-a-problem"],
)
async def test_other_error_bodies_pass_as_the_service_sent_them(
    gateway: Gateway, marketplace: FakeService, headers: list[tuple[bytes, bytes]], instance: str
) -> None:
    marketplace.status = 409
    marketplace.headers = headers
    marketplace.body = b'{"status":409,  "instance": "%s"}' % instance.encode()

    resp = await gateway.client.get("/marketplace/v1/orders/MP-1", headers=await gateway.partner_bearer())

    assert resp.status_code == 409
    assert resp.content == marketplace.body


async def test_a_compressed_problem_passes_as_the_service_sent_it(gateway: Gateway, marketplace: FakeService) -> None:
    document = b'{"status": 409, "instance": "/v1/orders/MP-1"}'
    marketplace.status = 409
    marketplace.headers = [(b"content-type", b"application/problem+json"), (b"content-encoding", b"gzip")]
    marketplace.body = gzip.compress(document)

    resp = await gateway.client.get("/marketplace/v1/orders/MP-1", headers=await gateway.partner_bearer())

    assert resp.status_code == 409
    assert resp.content == document  # httpx decompressed what the gateway passed through untouched


async def test_an_unreachable_service_is_503_with_retry_after(tmp_path: Path, contracts_dir: Path) -> None:
    settings = gateway_settings(tmp_path, contracts_dir, upstream_retry_after=7)
    async with running_gateway(settings, RoutingTransport({})) as gw:
        resp = await gw.client.get("/marketplace/v1/orders", headers=await gw.partner_bearer())

    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "7"
    assert resp.headers["content-type"] == PROBLEM
    assert resp.json()["type"] == "urn:interchange:problem:upstream-unavailable"
    assert "7 seconds" in resp.json()["detail"]


async def test_a_refused_connection_is_503_with_retry_after_not_504_over_the_real_transport(
    tmp_path: Path, contracts_dir: Path
) -> None:
    # httpx-aiohttp reports "connection refused" as httpx.ConnectTimeout; the gateway must not.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: every connection is refused
        port = sock.getsockname()[1]
        settings = gateway_settings(tmp_path, contracts_dir, marketplace_url=f"http://127.0.0.1:{port}")
        async with running_gateway(settings) as gw:
            resp = await gw.client.get("/marketplace/v1/orders", headers=await gw.partner_bearer())

    assert resp.status_code == 503
    assert resp.headers["retry-after"] == "5"  # upstream_retry_after's default
    assert resp.json()["type"] == "urn:interchange:problem:upstream-unavailable"


async def test_a_dropped_connection_is_502(tmp_path: Path, contracts_dir: Path) -> None:
    transport = RoutingTransport({"marketplace.test": _Drops()})
    async with running_gateway(gateway_settings(tmp_path, contracts_dir), transport) as gw:
        resp = await gw.client.get("/marketplace/v1/orders", headers=await gw.partner_bearer())

    assert resp.status_code == 502
    assert "retry-after" not in resp.headers


async def test_a_429_of_the_service_reaches_the_partner_with_its_retry_after(
    gateway: Gateway, marketplace: FakeService
) -> None:
    marketplace.status = 429
    marketplace.headers = [(b"content-type", b"application/problem+json"), (b"retry-after", b"30")]
    marketplace.body = b'{"type": "urn:interchange:problem:rate-limited", "status": 429}'

    resp = await gateway.client.get("/marketplace/v1/orders", headers=await gateway.partner_bearer())

    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "30"
    assert resp.content == marketplace.body


class _Drops(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)


class _TooSlow(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("the service did not answer", request=request)


async def test_a_service_timeout_is_504(tmp_path: Path, contracts_dir: Path) -> None:
    transport = RoutingTransport({"marketplace.test": _TooSlow()})
    async with running_gateway(gateway_settings(tmp_path, contracts_dir), transport) as gw:
        resp = await gw.client.get("/marketplace/v1/orders", headers=await gw.partner_bearer())

    assert resp.status_code == 504
    assert resp.headers["content-type"] == PROBLEM
    assert resp.json()["type"] == "urn:interchange:problem:upstream-timeout"


async def test_large_and_compressed_bodies_pass_as_they_are(gateway: Gateway, marketplace: FakeService) -> None:
    upload = bytes(range(256)) * 4096  # 1 MiB
    document = b'{"items": []}' * 10_000
    marketplace.body = gzip.compress(document)
    marketplace.headers = [
        (b"content-type", b"application/json"),
        (b"content-encoding", b"gzip"),
        (b"content-length", str(len(marketplace.body)).encode()),
    ]

    resp = await gateway.client.post("/marketplace/v1/orders", content=upload, headers=await gateway.partner_bearer())

    assert resp.status_code == 200
    assert marketplace.seen[0].body == upload
    assert resp.headers["content-encoding"] == "gzip"
    assert resp.headers["content-length"] == str(len(marketplace.body))
    assert resp.content == document  # httpx decompressed what the gateway passed through untouched


@pytest.mark.parametrize(
    ("upstream", "status", "slug"),
    [(500, 502, "upstream-unavailable"), (503, 503, "upstream-"), (504, 504, "upstream-timeout")],
)
async def test_a_service_5xx_becomes_our_problem_without_its_body(
    gateway: Gateway, marketplace: FakeService, upstream: int, status: int, slug: str
) -> None:
    marketplace.status = upstream
    marketplace.headers = [(b"content-type", b"text/html"), (b"x-debug-host", b"db-primary-3")]
    marketplace.body = b"<pre>psycopg.OperationalError at /srv/marketplace/app.py line 88</pre>"

    resp = await gateway.client.get("/marketplace/v1/orders", headers=await gateway.partner_bearer())

    assert resp.status_code == status
    assert resp.headers["content-type"] == PROBLEM
    assert resp.json()["type"].startswith(f"urn:interchange:problem:{slug}")  # the kit names a 503's kind
    assert "psycopg" not in resp.text
    assert "x-debug-host" not in resp.headers
    if upstream == 503:  # down for now, no Retry-After of its own: the partner gets ours
        assert resp.headers["retry-after"] == "5"


async def test_a_correlation_id_is_created_at_the_edge_and_carried_up(
    gateway: Gateway, marketplace: FakeService
) -> None:
    resp = await gateway.client.get("/marketplace/v1/orders", headers=await gateway.partner_bearer())

    created = resp.headers["x-correlation-id"]
    assert created
    [seen] = marketplace.seen
    assert seen.header("x-correlation-id") == created
    traceparent = seen.header("traceparent")
    assert traceparent is not None
    assert traceparent.startswith("00-")


async def test_only_the_callers_headers_go_up(gateway: Gateway, marketplace: FakeService) -> None:
    # Nothing the HTTP client would add of its own: an Accept-Encoding the caller did not send
    # would bring a compressed body down to a caller that cannot read it.
    auth = await gateway.partner_bearer()
    resp = await gateway.client.get("/marketplace/v1/orders", headers=auth)

    assert resp.status_code == 200
    [seen] = marketplace.seen
    sent_by_the_test_client = {"accept", "accept-encoding", "user-agent"}  # httpx's defaults, passed on
    added = {name for name, _ in seen.headers} - sent_by_the_test_client
    assert added <= {
        "host",
        "authorization",
        "x-correlation-id",
        "traceparent",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "connection",
    }
    request = gateway.client.build_request("GET", "/marketplace/v1/orders", headers=auth)
    del request.headers["accept-encoding"]  # no Accept-Encoding at all this time
    assert (await gateway.client.send(request)).status_code == 200
    assert marketplace.seen[-1].header("accept-encoding") is None


async def test_a_slow_service_is_504_over_sockets(tmp_path: Path, contracts_dir: Path) -> None:
    slow = FakeService(delay=5.0)
    async with serving(slow) as url:
        settings = gateway_settings(tmp_path, contracts_dir, marketplace_url=url, http_read_timeout=0.2)
        async with running_gateway(settings) as gw:
            resp = await gw.client.get("/marketplace/v1/orders", headers=await gw.partner_bearer())

    assert resp.status_code == 504
    assert resp.headers["content-type"] == PROBLEM
    assert resp.json()["type"] == "urn:interchange:problem:upstream-timeout"


async def test_a_streamed_body_over_the_cap_is_413_and_the_service_gets_nothing_whole_over_sockets(
    tmp_path: Path, contracts_dir: Path
) -> None:
    service = FakeService()
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1
            yield b"x" * 1024

    async with serving(service) as url:
        settings = gateway_settings(tmp_path, contracts_dir, marketplace_url=url, max_body_bytes=8192)
        async with running_gateway(settings) as gw:
            # GET /v1/orders reads no body: one sent anyway streams up, counted against the cap.
            resp = await gw.client.request(
                "GET", "/marketplace/v1/orders", content=endless(), headers=await gw.partner_bearer()
            )

    assert resp.status_code == 413
    assert resp.json()["type"] == "urn:interchange:problem:payload-too-large"
    assert service.seen == []
    assert sent < 20


async def test_a_streamed_body_under_the_cap_reaches_the_service_whole(
    gateway: Gateway, marketplace: FakeService
) -> None:
    # No Content-Length (chunked, as the caller sent it): over sockets the hop must still carry the
    # body, whatever the method (hyper sends no body on a GET unless told it is chunked).
    async def chunks() -> AsyncIterator[bytes]:
        for n in range(4):
            yield b"%d" % n * 1024

    resp = await gateway.client.request(
        "GET", "/marketplace/v1/orders", content=chunks(), headers=await gateway.partner_bearer()
    )

    assert resp.status_code == 200
    [seen] = marketplace.seen
    assert seen.body == b"0" * 1024 + b"1" * 1024 + b"2" * 1024 + b"3" * 1024
