"""``@precomputed`` routes: served without FastAPI's per-request dependency solver, with the same
answers, errors, contract and connection handling as the FastAPI route they are declared as."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel
from sqlalchemy import Column, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from service_kit.app import create_service_app
from service_kit.auth import Principal, require
from service_kit.db import ReadConnDep
from service_kit.errors import NotFound
from service_kit.precomputed import compile_routes, precomputed
from service_kit.settings import ServiceSettings
from tests.support.tokens import bearer, static_verifier

things_metadata = MetaData()
things = Table("things", things_metadata, Column("id", String, primary_key=True), Column("name", String))


class Thing(BaseModel):
    id: str
    name: str
    read_by: str


ThingId = Annotated[str, PathParam(min_length=2, max_length=8, pattern=r"^[a-z0-9-]+$")]
Reader = Annotated[Principal, require("things:read")]
calls: list[str] = []


async def _audited_reader(principal: Reader) -> str:
    calls.append("reader")
    return principal.client_id


async def _acting_for(
    partner: Annotated[str | None, Header(alias="X-Acting-For", max_length=8)] = None,
    request_tag: Annotated[str | None, Header(max_length=4)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    tags: Annotated[list[str] | None, Query()] = None,
) -> None:
    """A router-level dependency: declares headers and queries, validated on every route of the
    router (plain ones and a list)."""


AuditedReader = Annotated[str, Depends(_audited_reader)]


async def _read_thing(conn: AsyncConnection, thing_id: str, reader: str) -> Thing:
    row = (await conn.execute(select(things).where(things.c.id == thing_id))).first()
    if row is None:
        raise NotFound(f"No thing {thing_id}.")
    return Thing(id=row.id, name=row.name, read_by=reader)


def _router() -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Depends(_acting_for)])

    @router.get("/things/special")  # declared first: FastAPI serves it, not the route below
    async def special() -> dict[str, str]:
        return {"special": "yes"}

    @router.get("/things/{thing_id}", operation_id="getThing", responses={404: {"description": "No such thing."}})
    @precomputed
    async def get_thing(thing_id: ThingId, reader: AuditedReader, again: AuditedReader, conn: ReadConnDep) -> Thing:
        return await _read_thing(conn, thing_id, reader)

    @router.get("/plain/{thing_id}", operation_id="getPlainThing", responses={404: {"description": "No such thing."}})
    async def get_plain_thing(
        thing_id: ThingId, reader: AuditedReader, again: AuditedReader, conn: ReadConnDep
    ) -> Thing:
        return await _read_thing(conn, thing_id, reader)

    @router.get("/threaded/{thing_id}")
    @precomputed
    async def threaded(thing_id: str, request: Annotated[Request, Depends(_sync_request)]) -> dict[str, str]:
        return {"id": thing_id}

    return router


def _sync_request(request: Request) -> Request:  # a plain def: FastAPI runs it in a thread
    return request


@pytest.fixture
async def kit(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = ServiceSettings.load("kit", data_dir=tmp_path, log_json=False)
    app = create_service_app(
        settings,
        title="kit",
        description="kit",
        routers=[_router()],
        metadata=[things_metadata],
        verifier=static_verifier(),
    )
    async with app.router.lifespan_context(app):
        async with app.state.db.engine.begin() as conn:
            await conn.execute(insert(things).values(id="t-1", name="first"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit.test") as client:
            calls.clear()
            yield app, client


def _reader() -> dict[str, str]:
    return bearer("things:read", client_id="reader-1")


async def test_a_precomputed_route_answers_as_fastapi_does_without_its_solver(
    kit: tuple[FastAPI, httpx.AsyncClient], solved: list[object]
) -> None:
    _, client = kit
    headers = _reader() | {"X-Correlation-ID": "corr-1"}

    fast = await client.get("/v1/things/t-1", headers=headers)
    assert solved == []
    plain = await client.get("/v1/plain/t-1", headers=headers)

    assert solved, "the unmarked twin goes through FastAPI's solver"
    assert fast.status_code == plain.status_code == 200, fast.text
    assert fast.content == plain.content
    assert fast.json() == {"id": "t-1", "name": "first", "read_by": "reader-1"}
    assert fast.headers["content-type"] == plain.headers["content-type"] == "application/json"
    assert fast.headers["x-correlation-id"] == "corr-1"
    # A dependency used twice (same scopes) runs once per request, as FastAPI's cache does.
    assert calls == ["reader", "reader"]
    # The request is counted under its route's template.
    metrics = (await client.get("/metrics")).text
    assert 'route="/v1/things/{thing_id}",status="200"' in metrics


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/v1/things/t-1", "none", 401),  # no token
        ("/v1/things/t-1", "malformed", 401),
        ("/v1/things/nope", "reader", 404),  # the endpoint's own NotFound
        ("/v1/things/NOT_VALID", "reader", 422),  # the path parameter's pattern
        ("/v1/things/t-1", "reader+long-header", 422),  # the router's header dependency
        ("/v1/things/t-1", "reader+long-tag", 422),  # a header named by its parameter (request-tag)
        ("/v1/things/t-1?page=0", "reader", 422),  # a query parameter's bound
        ("/v1/things/t-1?page=x&tags=a&tags=b", "reader", 422),  # not an int, beside a list
        ("/v1/things/missing?page=2&tags=a&tags=b", "reader", 404),  # valid queries, then the endpoint's 404
        ("/v1/things/t-1", "writer", 403),  # a token without the scope
    ],
)
async def test_errors_are_the_same_problems_fastapi_answers(
    kit: tuple[FastAPI, httpx.AsyncClient], solved: list[object], path: str, headers: str, status: int
) -> None:
    _, client = kit
    sent = {
        "none": {},
        "malformed": {"Authorization": "Bearer not-a-jwt"},
        "reader": _reader(),
        "reader+long-header": _reader() | {"X-Acting-For": "far-too-long"},
        "reader+long-tag": _reader() | {"Request-Tag": "too-long"},
        "writer": bearer("things:write"),
    }[headers]

    fast = await client.get(path, headers=sent)
    assert solved == []
    plain = await client.get(path.replace("/v1/things/", "/v1/plain/"), headers=sent)

    assert fast.status_code == plain.status_code == status, fast.text
    assert fast.headers["content-type"] == "application/problem+json"
    fast_body, plain_body = fast.json(), plain.json()
    for body in (fast_body, plain_body):
        body.pop("correlation_id")
        body.pop("instance", None)
    assert fast_body == plain_body
    assert fast.headers.get("www-authenticate") == plain.headers.get("www-authenticate")


async def test_an_earlier_route_for_the_same_path_still_wins(kit: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = kit

    resp = await client.get("/v1/things/special", headers=_reader())

    assert resp.status_code == 200, resp.text
    assert resp.json() == {"special": "yes"}


async def test_a_route_it_cannot_serve_exactly_is_left_to_fastapi(kit: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = kit

    resp = await client.get("/v1/threaded/t-1", headers=_reader())

    assert resp.status_code == 200, resp.text
    assert [plan.route.path for plan in compile_routes(app)["GET"]] == ["/v1/things/{thing_id}"]


async def test_the_contract_is_the_one_fastapi_builds(kit: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, _ = kit

    paths = app.openapi()["paths"]

    fast, plain = paths["/v1/things/{thing_id}"]["get"], paths["/v1/plain/{thing_id}"]["get"]
    assert fast.pop("operationId") == "getThing" and plain.pop("operationId") == "getPlainThing"
    fast.pop("summary"), plain.pop("summary")
    assert fast == plain
    assert fast["security"] == [{"oauth2": ["things:read"]}]


async def test_dependency_overrides_send_requests_back_to_fastapi(
    kit: tuple[FastAPI, httpx.AsyncClient], solved: list[object]
) -> None:
    app, client = kit

    async def fixed_reader() -> str:
        return "override"

    app.dependency_overrides[_audited_reader] = fixed_reader
    try:
        resp = await client.get("/v1/things/t-1", headers=_reader())
    finally:
        app.dependency_overrides.clear()

    assert resp.status_code == 200, resp.text
    assert resp.json()["read_by"] == "override"
    assert solved
