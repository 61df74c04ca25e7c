"""What every request pays in the kit's runtime: the dependencies FastAPI solves for a protected
route, and no per-request work for telemetry nobody reads. Counted, not timed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import fastapi.dependencies.utils
import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from opentelemetry import trace
from sqlalchemy import Column, MetaData, String, Table, insert, select

from service_kit.app import create_service_app
from service_kit.auth import Principal, require
from service_kit.db import ReadConnDep, SessionDep
from service_kit.errors import Conflict
from service_kit.settings import ServiceSettings
from tests.support.tokens import bearer, static_verifier


@pytest.fixture
async def kit(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    router = APIRouter(prefix="/v1")

    @router.get("/things/{thing_id}")
    async def read_thing(thing_id: str, principal: Annotated[Principal, require("things:read")]) -> dict[str, str]:
        return {"id": thing_id, "client_id": principal.client_id}

    settings = ServiceSettings.load("kit", data_dir=tmp_path, log_json=False)
    app = create_service_app(settings, title="kit", description="kit", routers=[router], verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit.test") as client:
            yield app, client


async def test_a_scoped_route_solves_one_authentication_node(
    kit: tuple[FastAPI, httpx.AsyncClient], solved: list[object]
) -> None:
    _, client = kit

    resp = await client.get("/v1/things/t-1", headers=bearer("things:read", client_id="reader"))

    assert resp.status_code == 200, resp.text
    assert resp.json() == {"id": "t-1", "client_id": "reader"}
    # The endpoint and the route's require(scope), nothing more: the security scheme is the check
    # itself (not one more dependency under it), and the router's default authentication is not
    # added to a route that authenticates on its own (test_auth_once: unscoped routes still get it).
    assert len(solved) == 2, solved


async def test_the_contract_still_names_the_oauth2_scheme_with_the_routes_scope(
    kit: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, _ = kit

    spec = get_openapi(title="kit", version="1", routes=app.routes)

    assert spec["paths"]["/v1/things/{thing_id}"]["get"]["security"] == [{"oauth2": ["things:read"]}]
    scheme = spec["components"]["securitySchemes"]["oauth2"]
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == "/oauth2/token"


async def test_no_request_looks_up_telemetry_providers(
    kit: tuple[FastAPI, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, client = kit
    lookups: list[str] = []
    get_tracer_provider = trace.get_tracer_provider

    def counting() -> Any:
        lookups.append("tracer")
        return get_tracer_provider()

    monkeypatch.setattr(trace, "get_tracer_provider", counting)

    resp = await client.get("/v1/things/t-1", headers=bearer("things:read"))

    assert resp.status_code == 200, resp.text
    assert lookups == []


notes_metadata = MetaData()
notes = Table("notes", notes_metadata, Column("text", String, primary_key=True))


@pytest.fixture
async def notes_kit(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    router = APIRouter(prefix="/v1")

    @router.post("/notes/{text}", status_code=201)
    async def write_note(text: str, session: SessionDep) -> dict[str, str]:
        await session.execute(insert(notes).values(text=text))
        if text.startswith("refused"):
            raise Conflict("Refused after the insert: nothing of it may stay.")
        return {"text": text}

    @router.get("/notes")
    async def read_notes(conn: ReadConnDep) -> list[str]:
        return list((await conn.execute(select(notes.c.text).order_by(notes.c.text))).scalars())

    settings = ServiceSettings.load("kit", data_dir=tmp_path, log_json=False)
    app = create_service_app(
        settings,
        title="kit",
        description="kit",
        routers=[router],
        public_routers=[],
        metadata=[notes_metadata],
        verifier=static_verifier(),
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit.test") as client:
            yield client


async def test_the_session_commits_on_return_and_rolls_back_on_a_raise_without_yield_dependencies(
    notes_kit: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    generators: list[object] = []
    solve_generator = fastapi.dependencies.utils._solve_generator

    async def counting(**kwargs: Any) -> Any:
        generators.append(kwargs["dependant"].call)
        return await solve_generator(**kwargs)

    monkeypatch.setattr(fastapi.dependencies.utils, "_solve_generator", counting)
    headers = bearer()

    kept = await notes_kit.post("/v1/notes/kept", headers=headers)
    refused = await notes_kit.post("/v1/notes/refused-1", headers=headers)
    read = await notes_kit.get("/v1/notes", headers=headers)

    assert kept.status_code == 201, kept.text
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert read.json() == ["kept"]
    # The session and the read connection are entered on FastAPI's endpoint exit stack directly,
    # not through its per-request wrapping of ``yield`` dependencies.
    assert generators == []
