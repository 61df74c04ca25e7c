"""The ERP's batch booking and the CRM's activity batches on PostgreSQL, the scaled database: the
Core statements they book with (multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING``, an
insert from a select per activity) behave as on SQLite. Runs on a throwaway server
(tests/support/postgres.py); skips locally without PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from service_kit.settings import ServiceSettings
from system_apis.crm.app import create_app as create_crm
from system_apis.erp.app import create_app as create_erp
from system_apis.erp.settings import ErpSettings
from tests.support.tokens import bearer, static_verifier
from tests.unit.system_apis.test_erp_batch import entry

pytestmark = pytest.mark.xdist_group("postgres")


async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as c:
            yield c


@pytest.fixture
async def erp(postgres_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = ErpSettings.load("erp", database_url=postgres_url, seed_demo=True, log_json=False)
    async for c in client(create_erp(settings, verifier=static_verifier())):
        yield c


@pytest.fixture
async def crm(postgres_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = ServiceSettings.load("crm", database_url=postgres_url, seed_demo=True, log_json=False)
    async for c in client(create_crm(settings, verifier=static_verifier())):
        yield c


async def test_a_batch_is_booked_numbered_and_idempotent_on_postgres(erp: httpx.AsyncClient) -> None:
    body = {"entries": [entry("pg-a"), entry("pg-b", customer="C-2002"), entry("pg-c"), entry("pg-a")]}
    first = (await erp.post("/v1/sales-order-batches", json=body, headers=bearer("erp:write"))).json()["results"]
    assert [r["outcome"] for r in first] == ["created", "refused", "created", "existing"]
    assert first[0]["sales_order"]["number"] != first[2]["sales_order"]["number"]
    again = await erp.post(
        "/v1/sales-order-batches",
        json={"entries": [entry("pg-c"), entry("pg-a", price="1.00")]},
        headers=bearer("erp:write"),
    )
    assert [r["outcome"] for r in again.json()["results"]] == ["existing", "conflict"]
    assert again.json()["results"][0]["sales_order"] == first[2]["sales_order"]


async def test_activities_are_recorded_once_per_reference_on_postgres(crm: httpx.AsyncClient) -> None:
    activity = {"customer_id": "C-2001", "kind": "order_accepted", "subject": "Order 1 accepted", "reference": "o1"}
    single = await crm.post("/v1/activities", json=activity, headers=bearer("crm:write"))
    assert single.status_code == 201, single.text
    body = {"entries": [activity, {**activity, "reference": "o2"}, {**activity, "customer_id": "C-9999"}]}
    resp = await crm.post("/v1/activity-batches", json=body, headers=bearer("crm:write"))
    assert [r["outcome"] for r in resp.json()["results"]] == ["existing", "recorded", "refused"]
    timeline = await crm.get("/v1/customers/C-2001/activities", headers=bearer("crm:read"))
    assert [a["reference"] for a in timeline.json()["items"]] == ["o1", "o2"]


async def test_shipments_billed_at_once_never_invoice_more_than_was_ordered_on_postgres(
    erp: httpx.AsyncClient,
) -> None:
    booked = await erp.post("/v1/sales-orders", json=entry("pg-bill"), headers=bearer("erp:write"))
    assert booked.status_code == 201, booked.text
    ordered = int(booked.json()["lines"][0]["quantity"]["value"])
    sku = booked.json()["lines"][0]["sku"]

    async def invoice(shipment: str) -> httpx.Response:
        body = {
            "shipment_id": shipment,
            "order_reference": "pg-bill",
            "lines": [{"sku": sku, "quantity": {"value": str(ordered), "unit": "EA"}}],
        }
        return await erp.post("/v1/invoices", json=body, headers=bearer("erp:write"))

    answers = await asyncio.gather(*(invoice(f"pg-asn-{n}") for n in range(3)))
    assert sorted(answer.status_code for answer in answers) == [201, 422, 422]
    again = await invoice(next(f"pg-asn-{n}" for n, a in enumerate(answers) if a.status_code == 201))
    assert again.status_code == 200
    memo = {"return_id": "pg-rma", "order_reference": "pg-bill", "lines": [{"sku": sku, "quantity": {"value": "1"}}]}
    credited = await erp.post("/v1/credit-memos", json=memo, headers=bearer("erp:write"))
    assert credited.status_code == 201, credited.text
    assert credited.json()["credit_memo_number"].startswith("CM-")


async def test_a_customer_notice_is_sent_once_on_postgres(crm: httpx.AsyncClient) -> None:
    notice = {"customer_id": "C-2001", "kind": "shipment", "reference": "pg-asn", "message": "Shipped."}
    first = await crm.post("/v1/customer-notices", json=notice, headers=bearer("crm:write"))
    again = await crm.post("/v1/customer-notices", json=notice, headers=bearer("crm:write"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
