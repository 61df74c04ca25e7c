"""Unit rules of the orders service: the lifecycle, claims, and reading the tier below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from contracts import Customer, OrderStatus
from process_apis.orders import lifecycle, repository
from process_apis.orders.clients import read_body, short_skus
from process_apis.orders.flows.worker import process_pending_orders, release_own_claims, worker_id
from process_apis.orders.lifecycle import IllegalTransition
from service_kit.errors import UpstreamUnavailable
from tests.unit.process_apis.conftest import Orders
from tests.unit.process_apis.orders_fakes import ERP
from tests.unit.process_apis.saga_helpers import order_row

S = OrderStatus


@pytest.mark.parametrize(
    ("before", "after", "allowed"),
    [
        (None, S.received, True),
        (None, S.accepted, False),
        (S.received, S.accepted, True),
        (S.received, S.rejected, True),
        (S.received, S.on_hold, True),
        (S.received, S.shipped, False),
        (S.on_hold, S.received, True),
        (S.accepted, S.released, True),
        (S.accepted, S.rejected, False),
        (S.accepted, S.on_hold, True),
        (S.on_hold, S.accepted, True),
        (S.released, S.cancelled, True),
        (S.shipped, S.cancelled, False),
        (S.rejected, S.accepted, False),
        (S.cancelled, S.received, False),
    ],
)
def test_transitions(before: OrderStatus | None, after: OrderStatus, allowed: bool) -> None:
    assert lifecycle.can_change(before, after) is allowed


def test_every_status_has_its_transitions() -> None:
    assert set(lifecycle.TRANSITIONS) == {None, *OrderStatus}


async def test_an_illegal_transition_is_refused_and_leaves_no_history(orders: Orders) -> None:
    order_id = (await orders.submit()).json()["id"]
    db = orders.app.state.db
    async with db.transaction() as session:
        row = await repository.get_order(session, order_id=order_id)
        assert row is not None
        await lifecycle.change_status(
            session, order=row, to=S.rejected, reason="test", correlation_id="c", at=row.updated_at
        )
    with pytest.raises(IllegalTransition) as refused:
        async with db.transaction() as session:
            row = await repository.get_order(session, order_id=order_id)
            assert row is not None
            await lifecycle.change_status(
                session, order=row, to=S.accepted, reason=None, correlation_id="c", at=row.updated_at
            )
    assert refused.value.status == 409
    assert "rejected to accepted" in refused.value.detail
    async with db.transaction() as session:
        changes = await repository.status_history(session, order_id=order_id)
    assert [(c.from_status, c.to_status, c.reason) for c in changes] == [
        (None, "received", None),
        ("received", "rejected", "test"),
    ]


async def test_an_order_claimed_by_a_crashed_worker_is_resumed_after_the_lease(orders: Orders) -> None:
    order_id = (await orders.submit()).json()["id"]
    now = datetime.now(UTC)
    async with orders.app.state.db.transaction() as session:
        claimed = await repository.claim_next_due(session, now=now, lease_until=now + timedelta(minutes=2))
        assert claimed == order_id
        assert await repository.claim_next_due(session, now=now, lease_until=now + timedelta(minutes=2)) is None
    # ...and that worker died here.
    assert await process_pending_orders(orders.app, now=now) == 0
    assert await process_pending_orders(orders.app, now=now + timedelta(minutes=3)) == 1
    assert (await orders.get(order_id)).json()["status"] == "released"


async def test_a_restarted_worker_takes_its_own_claims_back_at_once(orders: Orders) -> None:
    order_id = (await orders.submit()).json()["id"]
    now = datetime.now(UTC)
    me = worker_id(orders.app.state.settings)
    async with orders.app.state.db.transaction() as session:
        assert await repository.claim_next_due(session, now=now, lease_until=now + timedelta(hours=1), worker_id=me)
    # ...and the process was killed here; the same worker starts again.
    await release_own_claims(orders.app)
    assert await process_pending_orders(orders.app, now=now) == 1
    assert (await orders.get(order_id)).json()["status"] == "released"


async def test_the_erp_refusing_to_price_rejects_the_order(orders: Orders) -> None:
    order_id = (await orders.submit()).json()["id"]
    del orders.tier.items["WIDGET-BLUE"]  # withdrawn between intake and processing
    orders.app.state.master_data.max_age = 0  # and the copy of the price list is too old to use
    assert await process_pending_orders(orders.app) == 1
    order = (await orders.get(order_id)).json()
    assert order["status"] == "rejected"
    assert "No item with SKU 'WIDGET-BLUE'" in (await order_row(orders, order_id)).rejection_reason
    assert orders.tier.reservations == {}


async def test_a_crm_refusal_after_the_sale_still_accepts_the_order_and_says_so(orders: Orders) -> None:
    order_id = (await orders.submit()).json()["id"]
    # The CRM's batch refuses this entry alone, as the single call refused it (422, its reason).
    orders.tier.refuse_activities["C-1001"] = "No CRM account for customer 'C-1001'."
    assert await process_pending_orders(orders.app) == 1
    order = (await orders.get(order_id)).json()
    assert order["status"] == "released"
    assert order["erp_order_number"] is not None
    assert order["status_reason"] == "the CRM refused the activity: No CRM account for customer 'C-1001'."
    assert orders.tier.activities == []
    assert len(orders.tier.seen("POST", ERP, "/v1/sales-order-batches")) == 1


def _response(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_answers_from_below_may_carry_fields_we_do_not_know() -> None:
    body = {
        "id": "C-1",
        "name": "N",
        "kind": "b2c",
        "status": "active",
        "currency": "EUR",
        "credit_limit": {"amount": "1.00", "currency": "EUR", "note": "new"},
        "loyalty_tier": "gold",
    }
    customer = read_body(Customer, _response(body), system="erp")
    assert customer.id == "C-1" and customer.credit_limit is not None


def test_an_unreadable_answer_is_a_technical_failure() -> None:
    with pytest.raises(UpstreamUnavailable):
        read_body(Customer, _response({"id": "C-1"}), system="erp")
    with pytest.raises(UpstreamUnavailable):
        read_body(Customer, httpx.Response(200, content=b"<html>"), system="erp")


def test_short_skus_are_read_from_whatever_the_wms_names() -> None:
    lines = ["WIDGET-BLUE", "WIDGET-RED", "GADGET-PRO"]
    errors = [
        {"pointer": "#/lines/2/quantity", "sku": "GADGET-PRO", "detail": "GADGET-PRO: 20 requested"},
        {"pointer": "#/lines/1/quantity", "detail": "short"},
        {"detail": "WIDGET-BLUE: 1000 EA requested, 140 available"},
        {"pointer": "#/lines/9/quantity", "detail": "?"},
    ]
    assert short_skus(errors, lines=lines) == ["GADGET-PRO", "WIDGET-RED", "WIDGET-BLUE"]
