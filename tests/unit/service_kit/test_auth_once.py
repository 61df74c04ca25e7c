"""A request's token is verified (and its client checked against the revocation list) once, although
both the router's default ``authenticate`` and the route's ``require(scope)`` ask for the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from service_kit.app import create_service_app
from service_kit.auth import Principal, TokenVerifier, require
from service_kit.settings import ServiceSettings
from tests.support.tokens import bearer, static_verifier

PROBLEM = "application/problem+json"


class CountingVerifier(TokenVerifier):
    def __init__(self, inner: TokenVerifier) -> None:
        self.inner = inner
        self.calls = 0

    async def verify(self, token: str) -> dict[str, Any]:
        self.calls += 1
        return await self.inner.verify(token)


@pytest.fixture
async def kit(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, CountingVerifier]]:
    router = APIRouter(prefix="/v1")

    @router.get("/things")
    async def list_things(principal: Annotated[Principal, require("things:read")]) -> dict[str, str]:
        return {"client_id": principal.client_id}

    @router.get("/open-to-any-client")
    async def any_client() -> dict[str, str]:
        return {"ok": "yes"}

    verifier = CountingVerifier(static_verifier())
    settings = ServiceSettings.load("kit", data_dir=tmp_path, log_json=False)
    app = create_service_app(settings, title="kit", description="kit", routers=[router], verifier=verifier)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit.test") as client:
            yield app, client, verifier


async def test_a_scoped_route_verifies_the_token_once(kit: tuple[FastAPI, httpx.AsyncClient, CountingVerifier]) -> None:
    _, client, verifier = kit

    resp = await client.get("/v1/things", headers=bearer("things:read", client_id="reader"))

    assert resp.status_code == 200, resp.text
    assert resp.json() == {"client_id": "reader"}
    assert verifier.calls == 1


async def test_a_missing_scope_is_403_after_one_verification(
    kit: tuple[FastAPI, httpx.AsyncClient, CountingVerifier],
) -> None:
    _, client, verifier = kit

    resp = await client.get("/v1/things", headers=bearer("things:write"))

    assert resp.status_code == 403
    assert resp.headers["content-type"] == PROBLEM
    assert "things:read" in resp.json()["detail"]
    assert resp.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="things:read"'
    assert verifier.calls == 1


async def test_no_token_is_401_on_scoped_and_unscoped_routes(
    kit: tuple[FastAPI, httpx.AsyncClient, CountingVerifier],
) -> None:
    _, client, verifier = kit

    for path in ("/v1/things", "/v1/open-to-any-client"):
        resp = await client.get(path)
        assert resp.status_code == 401, path
        assert resp.headers["content-type"] == PROBLEM
        assert resp.headers["www-authenticate"] == "Bearer"
    assert verifier.calls == 0
    assert (await client.get("/v1/open-to-any-client", headers=bearer())).status_code == 200


async def test_the_contract_still_names_each_operations_scopes(
    kit: tuple[FastAPI, httpx.AsyncClient, CountingVerifier],
) -> None:
    app, _, _ = kit
    paths = app.openapi()["paths"]

    assert paths["/v1/things"]["get"]["security"] == [{"oauth2": ["things:read"]}]
    assert paths["/v1/open-to-any-client"]["get"]["security"] == [{"oauth2": []}]
