from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict

from service_kit.app import create_service_app
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.idempotency import IdempotencyDep, find
from service_kit.settings import ServiceSettings
from tests.support.tokens import bearer, static_verifier


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


def build_app(tmp_path: Path, gate: asyncio.Event | None = None) -> FastAPI:
    router = APIRouter(prefix="/v1")
    calls = {"n": 0}

    @router.post("/things", status_code=201)
    async def create_thing(
        body: Thing, _: Annotated[Principal, require("things:write")], session: SessionDep, idem: IdempotencyDep
    ) -> dict[str, object]:
        if (stored := await idem.start()) is not None:
            return dict(stored.body)
        if body.name == "boom":
            raise RuntimeError("secret internal detail /srv/app.py line 12")
        if gate is not None:
            await gate.wait()
        calls["n"] += 1
        answer = {"name": body.name, "call": calls["n"]}
        await idem.finish(session, status_code=201, body=answer)
        return answer

    settings = ServiceSettings.load("kit", data_dir=tmp_path, log_json=False)
    return create_service_app(
        settings, title="kit", description="kit test", routers=[router], verifier=static_verifier()
    )


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(tmp_path)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://kit.test"
        ) as c:
            yield c


def test_settings_service_value_beats_shared_value_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERCHANGE_LOG_LEVEL", "debug")
    monkeypatch.setenv("INTERCHANGE_ERP_LOG_LEVEL", "error")
    assert ServiceSettings.load("erp").log_level == "error"
    assert ServiceSettings.load("wms").log_level == "debug"
    assert ServiceSettings.load("wms", log_level="info").log_level == "info"
    assert ServiceSettings.load("erp").port == 8301
    assert ServiceSettings.load("erp").database_url.endswith("var/erp.db")


async def test_same_key_same_body_replays_and_other_body_is_422(client: httpx.AsyncClient) -> None:
    headers = {**bearer("things:write"), "Idempotency-Key": "k1"}
    first = await client.post("/v1/things", json={"name": "a"}, headers=headers)
    again = await client.post("/v1/things", json={"name": "a"}, headers=headers)
    assert first.status_code == 201 and again.status_code == 201
    assert first.json() == again.json() == {"name": "a", "call": 1}
    other = await client.post("/v1/things", json={"name": "b"}, headers=headers)
    assert other.status_code == 422
    assert "different request body" in other.json()["detail"]


async def test_keys_are_scoped_per_client(client: httpx.AsyncClient) -> None:
    one = await client.post(
        "/v1/things", json={"name": "a"}, headers={**bearer("things:write", client_id="one"), "Idempotency-Key": "k"}
    )
    two = await client.post(
        "/v1/things", json={"name": "a"}, headers={**bearer("things:write", client_id="two"), "Idempotency-Key": "k"}
    )
    assert one.json()["call"] == 1 and two.json()["call"] == 2


async def test_a_failed_request_stores_nothing_and_leaks_nothing(client: httpx.AsyncClient) -> None:
    headers = {**bearer("things:write"), "Idempotency-Key": "k-boom"}
    boom = await client.post("/v1/things", json={"name": "boom"}, headers=headers)
    assert boom.status_code == 500
    assert boom.headers["content-type"] == "application/problem+json"
    assert "secret" not in boom.text and "Traceback" not in boom.text
    assert boom.json()["correlation_id"] == boom.headers["x-correlation-id"]
    # The key was not kept: the same key with another body is a fresh request.
    ok = await client.post("/v1/things", json={"name": "fine"}, headers=headers)
    assert ok.status_code == 201


async def test_overlong_or_missing_key_is_a_clear_problem(client: httpx.AsyncClient) -> None:
    long_key = await client.post(
        "/v1/things", json={"name": "a"}, headers={**bearer("things:write"), "Idempotency-Key": "x" * 256}
    )
    assert long_key.status_code == 422
    assert long_key.json()["errors"][0]["pointer"] == "#/header/idempotency-key"
    missing = await client.post("/v1/things", json={"name": "a"}, headers=bearer("things:write"))
    assert missing.status_code == 422


async def test_a_request_in_flight_answers_409(tmp_path: Path) -> None:
    gate = asyncio.Event()
    app = build_app(tmp_path, gate)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://kit.test"
        ) as c:
            headers = {**bearer("things:write"), "Idempotency-Key": "slow"}
            first = asyncio.create_task(c.post("/v1/things", json={"name": "a"}, headers=headers))
            for _ in range(500):  # until the first request has claimed the key
                if await find(app.state.db, scope="test-client", key="slow") is not None:
                    break
                await asyncio.sleep(0.01)
            second = await c.post("/v1/things", json={"name": "a"}, headers=headers)
            assert second.status_code == 409
            assert second.headers["retry-after"] == "1"
            gate.set()
            assert (await first).status_code == 201


async def test_correlation_id_is_kept_or_created(client: httpx.AsyncClient) -> None:
    kept = await client.get("/health/live", headers={"X-Correlation-ID": "abc-123"})
    assert kept.headers["x-correlation-id"] == "abc-123"
    created = await client.get("/health/live", headers={"X-Correlation-ID": "bad id with spaces"})
    assert created.headers["x-correlation-id"] not in ("", "bad id with spaces")


async def test_expired_and_unsigned_tokens_are_refused(client: httpx.AsyncClient) -> None:
    expired = await client.post(
        "/v1/things", json={"name": "a"}, headers={**bearer("things:write", lifetime=-120), "Idempotency-Key": "e"}
    )
    assert expired.status_code == 401
    header = "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0"  # {"alg":"none","typ":"at+jwt"}
    unsigned = await client.post(
        "/v1/things", json={"name": "a"}, headers={"Authorization": f"Bearer {header}.e30.", "Idempotency-Key": "n"}
    )
    assert unsigned.status_code == 401
