"""Reading a body: the request's done once its Content-Length is in (granian sends an empty last
message after the bytes; awaiting it is one more hop per POST), and capped either way; the
service's answer likewise (one ``read_chunk`` fewer per call)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.bodies import CappedBody, read_capped
from gateway.forward import _chunks
from service_kit.errors import PayloadTooLarge
from tests.unit.gateway.conftest import FakeService, gateway_over, serving_granian

ORDER = {"marketplace_order_id": "MP-1", "order_status": "PENDING"}


class GranianStyle:
    """A receive that delivers ``chunks`` as granian does: each with ``more_body`` true, then an
    empty last message; counts the calls."""

    def __init__(self, *chunks: bytes) -> None:
        self.messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
        self.messages.append({"type": "http.request", "body": b"", "more_body": False})
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return self.messages.pop(0)


async def test_a_body_of_the_declared_length_is_read_without_waiting_for_the_last_message() -> None:
    receive = GranianStyle(b'{"a": ', b"1}")

    assert await read_capped(receive, 100, length=8) == b'{"a": 1}'
    assert receive.calls == 2  # the two chunks, not the empty message after them


async def test_without_a_length_the_body_is_read_to_its_last_message() -> None:
    receive = GranianStyle(b'{"a": 1}')

    assert await read_capped(receive, 100) == b'{"a": 1}'
    assert receive.calls == 2


async def test_the_cap_holds_whatever_length_is_declared() -> None:
    with pytest.raises(PayloadTooLarge):
        await read_capped(GranianStyle(b"x" * 60, b"x" * 60), 100, length=120)


async def test_a_streamed_body_of_the_declared_length_ends_with_its_bytes() -> None:
    receive = GranianStyle(b"abc", b"def")

    assert [c async for c in CappedBody(receive, 100, length=6)] == [b"abc", b"def"]
    assert receive.calls == 2


class Reader:
    """pyreqwest's body reader: ``chunks``, then None; counts the calls."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks: list[bytes | None] = [*chunks, None]
        self.calls = 0

    async def read_chunk(self) -> bytes | None:
        self.calls += 1
        return self.chunks.pop(0)


async def test_an_answer_of_its_content_length_is_read_without_asking_for_more() -> None:
    reader = Reader(b'{"ok": ', b"true}")

    assert [c async for c in _chunks(reader, 12)] == [b'{"ok": ', b"true}"]
    assert reader.calls == 2


async def test_an_answer_without_a_length_is_read_to_its_end() -> None:
    reader = Reader(b"abc", b"def")

    assert [c async for c in _chunks(reader, None)] == [b"abc", b"def"]
    assert reader.calls == 3


async def test_posts_through_granian_reach_the_service_whole_on_one_connection(
    tmp_path: Path, contracts_dir: Path
) -> None:
    # The gateway as deployed (granian, pyreqwest), bodies streamed up one after the other on one
    # keep-alive connection: a body left half-read would show on the next call.
    marketplace = FakeService(status=202)
    async with gateway_over("sockets", tmp_path, contracts_dir, marketplace) as gw:
        auth = await gw.partner_bearer()
        async with serving_granian(gw.app) as url, httpx.AsyncClient(base_url=url) as client:
            bodies = [json.dumps(ORDER | {"note": "x" * n}).encode() for n in (0, 20_000, 3)]
            for body in bodies:
                resp = await client.post(
                    "/marketplace/v1/orders", content=body, headers=auth | {"content-type": "application/json"}
                )
                assert resp.status_code == 202, resp.text

    assert [seen.body for seen in marketplace.seen] == bodies
