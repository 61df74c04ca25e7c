"""CRM edges: activity timestamps carry their zone on the wire; control characters are refused."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from tests.support.tokens import bearer


@pytest.fixture
def service() -> str:
    return "crm"


ACTIVITY = {"customer_id": "C-2001", "kind": "order_accepted", "subject": "Order 1 accepted", "reference": "o1"}


async def test_activity_timestamps_carry_a_time_zone_when_created_and_when_read(crm: httpx.AsyncClient) -> None:
    created = await crm.post("/v1/activities", json=ACTIVITY, headers=bearer("crm:write"))
    assert created.status_code == 201, created.text
    timeline = await crm.get("/v1/customers/C-2001/activities", headers=bearer("crm:read"))
    stamps = [created.json()["created_at"]] + [a["created_at"] for a in timeline.json()["items"]]
    assert all(datetime.fromisoformat(s).utcoffset() is not None for s in stamps), stamps


async def test_a_control_character_in_an_activity_is_a_422_naming_the_field(crm: httpx.AsyncClient) -> None:
    resp = await crm.post("/v1/activities", json={**ACTIVITY, "subject": "Order\x001"}, headers=bearer("crm:write"))
    assert resp.status_code == 422
    assert [e["pointer"] for e in resp.json()["errors"]] == ["#/subject"]
    timeline = await crm.get("/v1/customers/C-2001/activities", headers=bearer("crm:read"))
    assert timeline.json()["items"] == []
