"""What the proxy hands its server for an answer (answers.send_down), over both forwarders: a body
of known length ends the answer with its last chunk (one send fewer per call, and a whole answer
for the server rather than a stream); a body of unknown length still streams, ended by an empty
message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gateway.answers import send_down
from tests.unit.gateway.conftest import FORWARDERS, FakeService, Gateway, gateway_over

BODY = b'{"order_status": "ACCEPTED"}'


async def _call(gw: Gateway, path: str) -> list[dict[str, Any]]:
    """The ASGI messages the gateway sends for one GET of ``path``, as a server receives them."""
    bearer = (await gw.partner_bearer())["Authorization"].encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"gateway.test"), (b"authorization", bearer)],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await gw.app(scope, receive, send)
    return sent


@pytest.fixture(params=FORWARDERS)
async def sized(request: pytest.FixtureRequest, tmp_path: Path, contracts_dir: Path) -> AsyncIterator[Gateway]:
    service = FakeService(
        headers=[(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))], body=BODY
    )
    async with gateway_over(request.param, tmp_path, contracts_dir, service) as gw:
        yield gw


async def test_an_answer_of_known_length_ends_with_its_last_chunk(sized: Gateway) -> None:
    start, *body = await _call(sized, "/marketplace/v1/orders/MP-1")

    assert start["type"] == "http.response.start"
    assert start["status"] == 200
    assert (b"content-length", b"%d" % len(BODY)) in start["headers"]
    assert body == [{"type": "http.response.body", "body": BODY, "more_body": False}]


async def test_an_empty_answer_of_known_length_is_ended_at_once(tmp_path: Path, contracts_dir: Path) -> None:
    service = FakeService(status=204, headers=[(b"content-length", b"0")], body=b"")
    async with gateway_over("sockets", tmp_path, contracts_dir, service) as gw:
        start, *body = await _call(gw, "/marketplace/v1/orders/MP-1")

    assert start["status"] == 204
    assert body == [{"type": "http.response.body", "body": b"", "more_body": False}]


async def test_an_answer_of_unknown_length_still_streams(tmp_path: Path, contracts_dir: Path) -> None:
    # No Content-Length from the service: over a socket uvicorn sends it chunked.
    service = FakeService(headers=[(b"content-type", b"application/json")], body=BODY)
    async with gateway_over("sockets", tmp_path, contracts_dir, service) as gw:
        start, *body = await _call(gw, "/marketplace/v1/orders/MP-1")

    assert start["status"] == 200
    assert b"".join(m["body"] for m in body) == BODY
    assert [m["more_body"] for m in body][-1] is False
    assert all(m["more_body"] for m in body[:-1])
    assert body[-1]["body"] == b""


async def test_a_body_of_known_length_is_read_to_its_end_before_the_answer_is_done() -> None:
    # Left suspended after its last chunk, the body would be closed later by the event loop's
    # async-generator finalizer: a task (and a self-pipe write) per call.
    finished: list[bool] = []

    async def chunks() -> AsyncIterator[bytes]:
        try:
            yield BODY[:10]
            yield BODY[10:]
        finally:
            finished.append(True)

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    down = SimpleNamespace(route=None, response_headers=[])
    await send_down(send, down, 200, [], chunks(), length=len(BODY))

    assert finished == [True]
    assert [(m["body"], m["more_body"]) for m in sent[1:]] == [(BODY[:10], True), (BODY[10:], False)]
