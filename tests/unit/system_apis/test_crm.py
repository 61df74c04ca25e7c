from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.tokens import bearer


@pytest.fixture
def service() -> str:
    return "crm"


async def test_customer_is_mapped_from_the_crm_native_account(crm: httpx.AsyncClient) -> None:
    resp = await crm.get("/v1/customers/C-2001", headers=bearer("crm:read"))
    assert resp.status_code == 200
    assert resp.json() == {
        "id": "C-2001",
        "name": "Borealis Hardware GmbH",
        "kind": "b2b",
        "status": "active",
        "currency": "EUR",
        "credit_limit": None,
        "email": "purchasing@borealis.test",
    }


async def test_unknown_customer_is_a_404_problem(crm: httpx.AsyncClient) -> None:
    resp = await crm.get("/v1/customers/NOPE", headers=bearer("crm:read"))
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert "NOPE" in resp.json()["detail"]


async def test_missing_token_and_missing_scope_are_refused(crm: httpx.AsyncClient) -> None:
    no_token = await crm.get("/v1/customers/C-2001")
    assert no_token.status_code == 401
    assert no_token.json()["type"] == "urn:interchange:problem:unauthorized"
    wrong_scope = await crm.get("/v1/customers/C-2001", headers=bearer("erp:read"))
    assert wrong_scope.status_code == 403
    assert "crm:read" in wrong_scope.json()["detail"]


async def test_activity_is_recorded_on_the_timeline(crm: httpx.AsyncClient) -> None:
    body = {"customer_id": "C-2001", "kind": "order_accepted", "subject": "Order 1 accepted", "reference": "o1"}
    created = await crm.post("/v1/activities", json=body, headers=bearer("crm:write"))
    assert created.status_code == 201, created.text
    timeline = await crm.get("/v1/customers/C-2001/activities", headers=bearer("crm:read"))
    assert [a["subject"] for a in timeline.json()["items"]] == ["Order 1 accepted"]


async def test_unknown_field_and_malformed_json_name_what_to_fix(crm: httpx.AsyncClient) -> None:
    body = {"customer_id": "C-2001", "kind": "note", "subject": "x", "colour": "blue"}
    unknown = await crm.post("/v1/activities", json=body, headers=bearer("crm:write"))
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["pointer"] == "#/colour"
    malformed = await crm.post(
        "/v1/activities",
        content=b"{not json",
        headers={**bearer("crm:write"), "content-type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.headers["content-type"] == "application/problem+json"


async def test_seed_is_idempotent_and_health_is_up(crm: httpx.AsyncClient, tmp_path: Path) -> None:
    assert (await crm.get("/health/live")).status_code == 200
    assert (await crm.get("/health/ready")).json()["database"] is True
    metrics = await crm.get("/metrics")
    assert "interchange_http_requests_total" in metrics.text
