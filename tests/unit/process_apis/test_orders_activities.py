"""The CRM activity in batches: orders at their CRM step at the same time go to the CRM in one
``activity-batches`` call, with no lookup of the customer's timeline first; an entry the CRM
refuses affects only its own order (as the single call's refusal did), and a failed call fails
each order in it technically (retried by the saga's rules)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from process_apis.orders.app import create_app
from process_apis.orders.clients import ActivityCreate, CrmClient, Refused
from process_apis.orders.flows.activities import ActivityBatcher
from service_kit.app import upstream
from service_kit.errors import UpstreamUnavailable
from tests.support.tokens import static_verifier
from tests.unit.process_apis.conftest import Orders, order_body, orders_settings
from tests.unit.process_apis.orders_fakes import CRM, FakeTier
from tests.unit.process_apis.saga_helpers import order_row, run_until_stopped, submit


def accepted(customer_id: str, reference: str) -> ActivityCreate:
    return ActivityCreate(customer_id=customer_id, kind="order_accepted", subject="Order accepted", reference=reference)


def batcher_of(orders: Orders) -> ActivityBatcher:
    return ActivityBatcher(lambda correlation_id: CrmClient(upstream(orders.app, "crm"), correlation_id=correlation_id))


async def test_activities_due_together_go_in_one_call_each_with_its_own_answer(orders: Orders) -> None:
    orders.tier.refuse_activities["C-1002"] = "No CRM account for customer 'C-1002'."
    batcher = batcher_of(orders)
    answers = await asyncio.gather(
        batcher.record(accepted("C-1001", "ord_a")),
        batcher.record(accepted("C-1002", "ord_b")),
        batcher.record(accepted("C-1001", "ord_c")),
        return_exceptions=True,
    )
    assert len(orders.tier.seen("POST", CRM, "/v1/activity-batches")) == 1
    assert (batcher.calls, batcher.entries) == (1, 3)
    assert [getattr(a, "reference", None) for a in answers] == ["ord_a", None, "ord_c"]
    assert isinstance(answers[1], Refused) and answers[1].detail == "No CRM account for customer 'C-1002'."
    assert [a["reference"] for a in orders.tier.activities] == ["ord_a", "ord_c"]


async def test_an_activity_sent_again_answers_the_one_recorded_first(orders: Orders) -> None:
    batcher = batcher_of(orders)
    first = await batcher.record(accepted("C-1001", "ord_a"))
    again = await batcher.record(accepted("C-1001", "ord_a"))
    assert again.id == first.id
    assert len(orders.tier.activities) == 1


async def test_a_failed_batch_call_fails_every_activity_in_it_technically(orders: Orders) -> None:
    orders.tier.down.add(CRM)
    batcher = batcher_of(orders)
    answers = await asyncio.gather(
        *(batcher.record(accepted("C-1001", ref)) for ref in ("ord_x", "ord_y")), return_exceptions=True
    )
    assert all(isinstance(a, UpstreamUnavailable) for a in answers)
    assert orders.tier.activities == []


async def test_an_entry_the_crm_cannot_read_fails_only_its_own_order(orders: Orders) -> None:
    """A whole batch answered 422 (one unreadable entry) is sent again entry by entry: the bad one
    is refused as the single call refused it, the others are recorded."""
    crm = orders.tier._crm

    def strict(method: str, parts: list[str], request: httpx.Request, body: Any) -> httpx.Response:
        if parts == ["activity-batches"] and any(e["reference"] == "ord_bad" for e in body["entries"]):
            problem = {"type": "about:blank", "title": "Unprocessable", "status": 422, "detail": "Unreadable entry."}
            return httpx.Response(422, json=problem, headers={"content-type": "application/problem+json"})
        return crm(method, parts, request, body)

    orders.tier._crm = strict  # type: ignore[method-assign]
    batcher = batcher_of(orders)
    answers = await asyncio.gather(
        *(batcher.record(accepted("C-1001", ref)) for ref in ("ord_a", "ord_bad", "ord_c")), return_exceptions=True
    )
    assert [getattr(a, "reference", None) for a in answers] == ["ord_a", None, "ord_c"]
    assert isinstance(answers[1], Refused) and answers[1].detail == "Unreadable entry."
    assert [a["reference"] for a in orders.tier.activities] == ["ord_a", "ord_c"]


async def test_orders_in_one_pass_record_their_activities_in_fewer_crm_calls_than_orders(
    tmp_path: Path, tier: FakeTier
) -> None:
    app = create_app(
        orders_settings(tmp_path, worker_concurrency=4), transport=tier.transport(), verifier=static_verifier()
    )
    tier.refuse_activities["C-1002"] = "No CRM account for customer 'C-1002'."
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders.test") as client:
            orders = Orders(app=app, client=client, tier=tier)
            customers = ["C-1001", "C-1001", "C-1002", "C-1001"]
            ids = [
                await submit(orders, order_body(f"MP-{n}", customer_id=customer))
                for n, customer in enumerate(customers)
            ]
            await run_until_stopped(orders)
            rows: list[Any] = [await order_row(orders, order_id) for order_id in ids]
    assert [r.status for r in rows] == ["released"] * 4
    refused = rows[2].status_reason
    assert refused == "the CRM refused the activity: No CRM account for customer 'C-1002'."
    assert [r.status_reason for r in rows[:2] + rows[3:]] == [None] * 3
    assert sorted(a["reference"] for a in tier.activities) == sorted(ids[:2] + ids[3:])  # one each
    crm_calls = [(r.method, r.url.path) for r in tier.requests if r.url.host == CRM]
    assert 1 <= len(crm_calls) < len(ids)  # batched, and no lookup of the timeline first
    assert set(crm_calls) == {("POST", "/v1/activity-batches")}
