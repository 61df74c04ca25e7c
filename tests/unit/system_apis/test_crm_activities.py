"""How the reference CRM records an activity: one statement on its own tables (the account found
inside the insert), and nothing written for a customer it has no account for."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from service_kit.settings import ServiceSettings
from system_apis.crm.app import create_app
from tests.support.tokens import bearer, static_verifier

ACTIVITY = {"customer_id": "C-2001", "kind": "order_accepted", "subject": "Order 7 accepted", "reference": "o7"}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Any]:
    settings = ServiceSettings.load("crm", data_dir=tmp_path, seed_demo=True, log_json=False)
    app = create_app(settings, verifier=static_verifier())
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def crm(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://crm.test") as client:
        yield client


def activities(tmp_path: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(tmp_path / "crm.db") as conn:
        return conn.execute("SELECT AccountId, Type, ExternalRef FROM crm_activities ORDER BY CreatedDate").fetchall()


async def test_an_activity_is_recorded_with_one_statement(crm: httpx.AsyncClient, app: Any, tmp_path: Path) -> None:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "crm_" in statement:
            seen.append(statement)

    event.listen(app.state.db.engine.sync_engine, "before_cursor_execute", record)
    try:
        created = await crm.post("/v1/activities", json=ACTIVITY, headers=bearer("crm:write"))
    finally:
        event.remove(app.state.db.engine.sync_engine, "before_cursor_execute", record)
    assert created.status_code == 201, created.text
    assert created.json()["id"].startswith("act_")
    assert len(seen) == 1 and seen[0].lstrip().upper().startswith("INSERT")
    assert activities(tmp_path) == [("001B", "order_accepted", "o7")]
    timeline = await crm.get("/v1/customers/C-2001/activities", headers=bearer("crm:read"))
    assert timeline.json()["items"] == [created.json()]


async def test_an_activity_for_a_customer_without_account_is_refused_and_not_written(
    crm: httpx.AsyncClient, tmp_path: Path
) -> None:
    resp = await crm.post("/v1/activities", json={**ACTIVITY, "customer_id": "C-9999"}, headers=bearer("crm:write"))
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    assert "C-9999" in resp.json()["detail"]
    assert activities(tmp_path) == []
