"""GET /v1/accounts/{customer_id}/prices and /credit before this process holds a copy of the
account's master data (the ERP snapshot not loaded yet) while the ERP cannot be asked: a 503 with
Retry-After (come back in a moment), never a 502 that the tiers above pass on as "failed"."""

from __future__ import annotations

import pytest

from tests.unit.process_apis.conftest import Orders, as_service


@pytest.mark.parametrize("what", ["prices", "credit"])
async def test_an_account_read_before_the_master_data_is_loaded_is_a_503_with_retry_after(
    orders: Orders, what: str
) -> None:
    orders.tier.down.add("erp.test")

    resp = await orders.client.get(f"/v1/accounts/C-2001/{what}", headers=as_service("orders:read", partner=None))

    assert resp.status_code == 503, resp.text
    assert int(resp.headers["Retry-After"]) >= 1
    assert resp.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in resp.text


async def test_once_the_erp_answers_the_same_read_is_served(orders: Orders) -> None:
    orders.tier.down.add("erp.test")
    headers = as_service("orders:read", partner=None)
    assert (await orders.client.get("/v1/accounts/C-2001/prices", headers=headers)).status_code == 503

    orders.tier.down.clear()
    resp = await orders.client.get("/v1/accounts/C-2001/prices", headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["customer_id"] == "C-2001" and resp.json()["items"]
