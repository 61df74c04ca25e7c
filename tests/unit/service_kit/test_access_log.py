"""The per-request access-log line is a setting, off by default (the metrics count every request);
an unhandled error is logged either way, and httpx's own line per outbound call is not written."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from service_kit.app import create_service_app
from service_kit.settings import ServiceSettings
from tests.support.tokens import bearer, static_verifier


def _app(tmp_path: Path, **settings: object) -> FastAPI:
    router = APIRouter(prefix="/v1")

    @router.get("/things")
    async def things() -> dict[str, str]:
        return {"ok": "yes"}

    @router.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("boom")

    loaded = ServiceSettings.load("kit", data_dir=tmp_path, log_json=True, **settings)
    below = httpx.MockTransport(lambda _: httpx.Response(200, json={}))
    return create_service_app(
        loaded, title="kit", description="kit", routers=[router], transport=below, verifier=static_verifier()
    )


async def _events(app: FastAPI, capsys: pytest.CaptureFixture[str], *paths: str) -> list[str]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://kit.test") as client:
            capsys.readouterr()
            for path in paths:
                await client.get(path, headers=bearer())
            # An outbound call over the app's client: httpx's own INFO line must not appear.
            http: httpx.AsyncClient = app.state.http
            await http.get("http://below.test/v1/anything")
            lines = capsys.readouterr().err.splitlines()
    return [json.loads(line)["event"] for line in lines if line.startswith("{")]


async def test_no_access_log_line_per_request_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = await _events(_app(tmp_path), capsys, "/v1/things", "/v1/boom")
    assert "request" not in events
    assert "unhandled_error" in events
    assert not [e for e in events if e.startswith("HTTP Request")]


async def test_the_access_log_setting_logs_each_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = await _events(_app(tmp_path, access_log=True), capsys, "/v1/things")
    assert events.count("request") == 1
