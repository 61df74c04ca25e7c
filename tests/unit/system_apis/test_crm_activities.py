"""How the reference CRM records activities: one statement on its own tables for one (the account
found inside the insert), nothing written for a customer it has no account for, and batches
(POST /v1/activity-batches) recorded with the same few statements whatever their size, once
per customer, kind and reference."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.tokens import bearer
from tests.unit.system_apis.sql_recorder import recorded

ACTIVITY = {"customer_id": "C-2001", "kind": "order_accepted", "subject": "Order 7 accepted", "reference": "o7"}


@pytest.fixture
def service() -> str:
    return "crm"


def statements(app: Any) -> AbstractContextManager[list[str]]:
    """The SQL statements on the CRM's own tables run meanwhile (an executemany counts once)."""
    return recorded(app.state.db.engine.sync_engine, keep=lambda statement: "crm_" in statement)


def activities(tmp_path: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(tmp_path / "crm.db") as conn:
        return conn.execute("SELECT AccountId, Type, ExternalRef FROM crm_activities ORDER BY CreatedDate").fetchall()


async def test_an_activity_is_recorded_with_one_statement(crm: httpx.AsyncClient, app: Any, tmp_path: Path) -> None:
    with statements(app) as seen:
        created = await crm.post("/v1/activities", json=ACTIVITY, headers=bearer("crm:write"))
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


def entry(reference: str | None, *, customer: str = "C-2001", kind: str = "order_accepted") -> dict[str, Any]:
    return {"customer_id": customer, "kind": kind, "subject": f"Order {reference} accepted", "reference": reference}


async def test_a_batch_records_each_activity_once_and_refuses_only_an_unknown_customer(
    crm: httpx.AsyncClient, tmp_path: Path
) -> None:
    body = {"entries": [entry("o1"), entry("o2", customer="C-9999"), entry("o3", customer="C-1001"), entry(None)]}
    resp = await crm.post("/v1/activity-batches", json=body, headers=bearer("crm:write"))
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [r["outcome"] for r in results] == ["recorded", "refused", "recorded", "recorded"]
    assert results[1]["problem"]["status"] == 422
    assert results[1]["problem"]["errors"] == [{"pointer": "#/customer_id", "detail": "no CRM account for C-9999"}]
    assert sorted(activities(tmp_path), key=str) == sorted(
        [("001B", "order_accepted", "o1"), ("001A", "order_accepted", "o3"), ("001B", "order_accepted", None)], key=str
    )
    timeline = await crm.get("/v1/customers/C-1001/activities", headers=bearer("crm:read"))
    assert timeline.json()["items"] == [results[2]["activity"]]


async def test_a_batch_sent_again_records_nothing_twice(crm: httpx.AsyncClient, tmp_path: Path) -> None:
    first = await crm.post("/v1/activity-batches", json={"entries": [entry("o1")]}, headers=bearer("crm:write"))
    again = await crm.post(
        "/v1/activity-batches",
        json={"entries": [entry("o1"), entry("o1", kind="note"), entry("o4"), entry("o4")]},
        headers=bearer("crm:write"),
    )
    results = again.json()["results"]
    assert [r["outcome"] for r in results] == ["existing", "recorded", "recorded", "existing"]
    assert results[0]["activity"] == first.json()["results"][0]["activity"]
    assert results[3]["activity"] == results[2]["activity"]
    assert sorted(activities(tmp_path), key=str) == sorted(
        [("001B", "order_accepted", "o1"), ("001B", "note", "o1"), ("001B", "order_accepted", "o4")], key=str
    )


async def test_a_batch_of_fifty_runs_the_statements_of_a_batch_of_one(crm: httpx.AsyncClient, app: Any) -> None:
    counts = []
    for size in (1, 50):
        body = {"entries": [entry(f"s{size}-{n}") for n in range(size)]}
        with statements(app) as seen:
            resp = await crm.post("/v1/activity-batches", json=body, headers=bearer("crm:write"))
        assert [r["outcome"] for r in resp.json()["results"]] == ["recorded"] * size
        counts.append(len(seen))
    assert counts[0] == counts[1] == 3  # accounts, earlier activities, one insert


async def test_a_malformed_batch_is_a_problem_and_needs_the_write_scope(crm: httpx.AsyncClient) -> None:
    empty = await crm.post("/v1/activity-batches", json={"entries": []}, headers=bearer("crm:write"))
    assert empty.status_code == 422
    assert empty.headers["content-type"] == "application/problem+json"
    too_many = await crm.post(
        "/v1/activity-batches", json={"entries": [entry(f"r{n}") for n in range(101)]}, headers=bearer("crm:write")
    )
    assert too_many.status_code == 422
    reader = await crm.post("/v1/activity-batches", json={"entries": [entry("r")]}, headers=bearer("crm:read"))
    assert reader.status_code == 403


async def test_a_batch_finds_earlier_activities_by_an_index_not_a_scan(app: Any, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "crm.db") as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT ActivityId FROM crm_activities WHERE ExternalRef IN ('a', 'b')"
        ).fetchall()
    assert any("USING INDEX" in row[-1] for row in plan), plan
