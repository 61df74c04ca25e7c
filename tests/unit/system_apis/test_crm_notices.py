"""CRM customer notices: sent once per kind and reference, to the account's address, and nothing
recorded for a customer without an account."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from system_apis.crm.models import CrmNotice
from tests.support.tokens import Bearer

READ, WRITE = Bearer("crm:read"), Bearer("crm:write")


@pytest.fixture
def service() -> str:
    return "crm"


def notice(reference: str = "ASN-1", customer: str = "C-1001", kind: str = "shipment", **changes: Any) -> Any:
    return {
        "customer_id": customer,
        "kind": kind,
        "reference": reference,
        "message": f"Order MP-1001 shipped with DHL, tracking JD-{reference}.",
    } | changes


async def count(app: Any) -> int:
    async with app.state.db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(CrmNotice))).scalar_one())


async def test_a_notice_goes_to_the_account_address_once_per_kind_and_reference(
    app: Any, crm: httpx.AsyncClient
) -> None:
    sent = await crm.post("/v1/customer-notices", json=notice(), headers=WRITE)
    assert sent.status_code == 201, sent.text
    assert sent.json() | {"id": None, "created_at": None} == notice() | {
        "id": None,
        "recipient": "orders@acme-market.test",
        "created_at": None,
    }
    retried = await crm.post("/v1/customer-notices", json=notice(message="Reworded on a retry"), headers=WRITE)
    assert (retried.status_code, retried.json()) == (200, sent.json())  # the first message stands
    credit = await crm.post("/v1/customer-notices", json=notice(kind="credit_memo"), headers=WRITE)
    assert credit.status_code == 201  # another kind under the same reference is another notice
    assert await count(app) == 2
    told = await crm.get("/v1/customers/C-1001/notices", headers=READ)
    assert [(n["kind"], n["reference"]) for n in told.json()["items"]] == [
        ("shipment", "ASN-1"),
        ("credit_memo", "ASN-1"),
    ]


async def test_refused_notices_record_nothing(app: Any, crm: httpx.AsyncClient) -> None:
    unknown = await crm.post("/v1/customer-notices", json=notice(customer="C-9999"), headers=WRITE)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert (await crm.post("/v1/customer-notices", json=notice(), headers=WRITE)).status_code == 201
    other_customer = await crm.post("/v1/customer-notices", json=notice(customer="C-2001"), headers=WRITE)
    assert other_customer.status_code == 409
    bad_kind = await crm.post("/v1/customer-notices", json=notice(kind="invoice"), headers=WRITE)
    assert bad_kind.status_code == 422
    empty = await crm.post("/v1/customer-notices", json=notice(message=""), headers=WRITE)
    assert empty.status_code == 422
    assert await count(app) == 1
    assert (await crm.get("/v1/customers/C-9999/notices", headers=READ)).status_code == 404
    assert (await crm.post("/v1/customer-notices", json=notice("ASN-2"), headers=READ)).status_code == 403


async def test_the_same_notice_sent_at_once_is_recorded_once(app: Any, crm: httpx.AsyncClient) -> None:
    answers = await asyncio.gather(
        *(crm.post("/v1/customer-notices", json=notice("ASN-7"), headers=WRITE) for _ in range(3))
    )
    assert {answer.status_code for answer in answers} <= {200, 201, 409}
    assert 201 in {answer.status_code for answer in answers}
    assert await count(app) == 1
