"""``@precomputed`` POST routes: a JSON body validated from its bytes, a ``Response`` parameter and
the kit's Idempotency-Key header, answered byte for byte and problem for problem as the same route
unmarked (FastAPI's solver) answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Body, Depends, FastAPI, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from service_kit.app import create_service_app
from service_kit.auth import Principal, require
from service_kit.idempotency import IdempotencyKeyHeader, fingerprint
from service_kit.precomputed import compile_routes, precomputed
from service_kit.settings import ServiceSettings
from tests.support.tokens import bearer, static_verifier


class Line(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Annotated[str, Field(min_length=1, max_length=8)]
    quantity: Annotated[int, Field(strict=True, gt=0)]


class Submission(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: Annotated[str, Field(pattern=r"^[A-Z0-9-]+$")]
    lines: Annotated[list[Line], Field(min_length=1)]
    again: bool = False


class Accepted(BaseModel):
    reference: str
    status_url: str
    key: str
    fingerprint: str


Writer = Annotated[Principal, require("things:write")]


async def _key(request: Request, principal: Writer, idempotency_key: IdempotencyKeyHeader) -> tuple[str, str]:
    """Reads the body as the intake keys do (the same bytes the endpoint's model came from)."""
    body = await request.body()
    return principal.client_id + ":" + idempotency_key, fingerprint(request.method, "/v1/things", body)


Key = Annotated[tuple[str, str], Depends(_key)]


async def _accept(body: Submission, key: tuple[str, str], response: Response) -> Accepted:
    url = f"/v1/things/{body.reference}"
    response.headers["Location"] = url
    if body.again:
        response.status_code = 200  # as the orders intake answers an order it already had
    return Accepted(reference=body.reference, status_url=url, key=key[0], fingerprint=key[1])


def _router() -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.post("/things", status_code=202)
    @precomputed
    async def submit(body: Submission, key: Key, response: Response) -> Accepted:
        return await _accept(body, key, response)

    @router.post("/plain", status_code=202)
    async def submit_plain(body: Submission, key: Key, response: Response) -> Accepted:
        return await _accept(body, key, response)

    @router.post("/embedded")
    @precomputed
    async def embedded(body: Annotated[Submission, Body(embed=True)], key: Key) -> dict[str, str]:
        return {"reference": body.reference}

    return router


@pytest.fixture
async def kit(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = ServiceSettings.load("kit", data_dir=tmp_path, log_json=False)
    app = create_service_app(settings, title="kit", description="kit", routers=[_router()], verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit.test") as client:
            yield app, client


VALID = b'{"reference": "R-1", "lines": [{"sku": "A1", "quantity": 2}]}'
JSON = {"Content-Type": "application/json"}


def _writer(key: str | None = "k-1") -> dict[str, str]:
    headers = bearer("things:write", client_id="writer-1")
    return headers if key is None else headers | {"Idempotency-Key": key}


async def _both(client: httpx.AsyncClient, content: bytes, headers: dict[str, str]) -> tuple[Any, Any]:
    fast = await client.post("/v1/things", content=content, headers=headers)
    plain = await client.post("/v1/plain", content=content, headers=headers)
    return fast, plain


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (VALID, JSON),
        (VALID.replace(b"}]}", b'}], "again": true}'), JSON),  # the endpoint's own status
        (VALID, {"Content-Type": "application/merge-patch+json; charset=utf-8"}),  # a +json type
    ],
)
async def test_an_accepted_body_answers_the_same_bytes_and_headers_without_the_solver(
    kit: tuple[FastAPI, httpx.AsyncClient], solved: list[object], content: bytes, headers: dict[str, str]
) -> None:
    _, client = kit

    fast = await client.post("/v1/things", content=content, headers=_writer() | headers)
    assert solved == []
    plain = await client.post("/v1/plain", content=content, headers=_writer() | headers)

    assert solved, "the unmarked twin goes through FastAPI's solver"
    assert fast.status_code == plain.status_code, fast.text
    assert fast.status_code in (200, 202)
    assert fast.content.replace(b"/things", b"/plain") == plain.content.replace(b"/things", b"/plain")
    assert fast.json()["status_url"] == "/v1/things/R-1"
    assert fast.headers["location"] == plain.headers["location"] == "/v1/things/R-1"
    assert fast.headers["content-type"] == plain.headers["content-type"] == "application/json"
    assert fast.headers["content-length"] == str(len(fast.content))


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"", JSON, 422),  # no body
        (VALID, {}, 422),  # no content type: FastAPI's strict mode validates the bytes
        (VALID, {"Content-Type": "text/plain"}, 422),
        (b'{"reference": "R-1", "lines": [', JSON, 400),  # bad JSON (the kit's 400)
        (b"[1, 2]", JSON, 422),  # JSON, not an object
        (b'{"reference": "r 1", "lines": []}', JSON, 422),  # pattern and min_length
        (b'{"reference": "R-1", "lines": [{"sku": "A1", "quantity": "2"}], "x": 1}', JSON, 422),  # strict, extra
        (b'{"reference": "R-1"}', JSON, 422),  # a required field
    ],
)
async def test_a_body_it_cannot_take_is_the_same_problem(
    kit: tuple[FastAPI, httpx.AsyncClient], content: bytes, headers: dict[str, str], status: int
) -> None:
    _, client = kit

    fast, plain = await _both(client, content, _writer() | headers)

    assert fast.status_code == plain.status_code == status, fast.text
    assert fast.headers["content-type"] == "application/problem+json"
    assert _problem(fast) == _problem(plain)
    assert _problem(fast).get("errors") or status == 400, "the problem names what to fix"


@pytest.mark.parametrize(
    ("content", "sent", "status"),
    [
        (VALID, "writer, no key", 422),
        (b'{"reference": "r"}', "writer, no key", 422),  # no key and a bad body: both, in FastAPI's order
        (VALID, "malformed token", 401),
        (b"{bad", "no token", 400),  # bad JSON is found before the token is looked at
        (b'{"reference": "r"}', "no token", 401),  # an invalid body is found after the dependencies
        (VALID, "reader", 403),
        (VALID, "writer, long key", 422),  # the kit's key length
    ],
)
async def test_headers_and_auth_fail_as_fastapi_fails_them(
    kit: tuple[FastAPI, httpx.AsyncClient], content: bytes, sent: str, status: int
) -> None:
    _, client = kit
    headers = {
        "writer, no key": _writer(None),
        "malformed token": {"Authorization": "Bearer not-a-jwt", "Idempotency-Key": "k"},
        "no token": {"Idempotency-Key": "k"},
        "reader": bearer("things:read") | {"Idempotency-Key": "k"},
        "writer, long key": _writer("x" * 256),
    }[sent]

    fast, plain = await _both(client, content, JSON | headers)

    assert fast.status_code == plain.status_code == status, fast.text
    assert _problem(fast) == _problem(plain)
    assert fast.headers.get("www-authenticate") == plain.headers.get("www-authenticate")


async def test_an_embedded_body_is_left_to_fastapi(kit: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = kit

    resp = await client.post("/v1/embedded", content=b'{"body": ' + VALID + b"}", headers=_writer() | JSON)

    assert resp.status_code == 200, resp.text
    assert [plan.route.path for plan in compile_routes(app)["POST"]] == ["/v1/things"]


def _problem(resp: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = resp.json()
    body.pop("correlation_id", None)
    body.pop("instance", None)
    return body
