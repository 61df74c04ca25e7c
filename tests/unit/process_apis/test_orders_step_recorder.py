"""The saga's batched writes (flows.recorder): many orders' forward steps in one transaction, the
same rows the ORM path writes, and an order changed meanwhile never overwritten."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, update

from process_apis.orders import repository
from process_apis.orders.app import create_app
from process_apis.orders.flows.recorder import StepRecorder
from process_apis.orders.flows.saga import Progress, claimed_progress
from process_apis.orders.flows.steps import CreditDecision
from process_apis.orders.flows.worker import process_pending_orders
from process_apis.orders.models import OrderLineRow, OrderReservationRow, OrderRow, SagaStep
from service_kit.events.outbox import OutboxRecord
from tests.support.tokens import static_verifier
from tests.unit.process_apis.conftest import Orders, line, order_body, orders_settings
from tests.unit.process_apis.orders_fakes import FakeTier
from tests.unit.process_apis.saga_helpers import history, order_row, steps_run, submit

ORDERS = 12


@pytest.fixture
async def busy(tmp_path: Path, tier: FakeTier) -> AsyncIterator[Orders]:
    """The orders API with a worker running several orders at once (as deployed)."""
    settings = orders_settings(tmp_path, worker_concurrency=ORDERS, worker_poll_interval=60.0)
    app = create_app(settings, transport=tier.transport(), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders.test") as client:
            yield Orders(app=app, client=client, tier=tier)


class _Declining(StepRecorder):
    """Sends every outcome the ORM path (one transaction per order and step), as before."""

    async def succeeded(self, *, progress: Progress, step: SagaStep, result: Any) -> Progress | None:
        return None


def _commits(orders: Orders) -> list[int]:
    counted = [0]

    def commit(_connection: Any) -> None:
        counted[0] += 1

    event.listen(orders.app.state.db.engine.sync_engine, "commit", commit)
    return counted


async def test_many_orders_steps_are_written_in_a_few_transactions(busy: Orders) -> None:
    ids = [await submit(busy, order_body(f"MP-{n}")) for n in range(ORDERS)]
    commits = _commits(busy)

    assert await process_pending_orders(busy.app) == ORDERS

    assert {await busy.status(order_id) for order_id in ids} == {"released"}
    recorder: StepRecorder = busy.app.state.orders_recorder
    assert recorder.recorded == ORDERS * 5  # price+credit, reserve, pivot, release, activity
    # One transaction per order and step was ORDERS * 5 (+ the claim): now they are shared.
    assert recorder.transactions < ORDERS * 2
    assert commits[0] < ORDERS * 3


async def _written(orders: Orders, order_id: str) -> dict[str, Any]:
    """Everything the saga wrote about the order, without what differs between two orders."""
    row = await order_row(orders, order_id)
    async with orders.app.state.db.transaction() as session:
        lines = (await session.execute(select(OrderLineRow).where(OrderLineRow.order_id == order_id))).scalars()
        held = (
            await session.execute(select(OrderReservationRow).where(OrderReservationRow.order_id == order_id))
        ).scalars()
        envelopes = (await session.execute(select(OutboxRecord.envelope).where(OutboxRecord.subject == order_id))).all()
    events = [json.loads(envelope) for (envelope,) in envelopes]
    return {
        "order": {
            key: getattr(row, key)
            for key in (
                "status",
                "status_reason",
                "total_amount",
                "saga_active",
                "saga_step",
                "attempts",
                "last_error",
                "next_attempt_at",
                "claimed_by",
                "pivot_attempted",
                "activity_attempted",
                "compensating_for",
                "compensation",
                "hold_kind",
                "failed_step",
            )
        }
        # The version counts flushes (the ORM path flushes twice in a status change): it only moves on.
        | {"has_number": row.erp_order_number is not None, "has_reservation": row.reservation_id is not None}
        | {"version_moved": row.version > 1},
        "lines": [(x.line_no, x.sku, x.unit_price, x.line_total, x.warehouse) for x in lines],
        "reservations": [(r.seq, r.warehouse, r.status, r.lines) for r in held],
        "history": [(before, after, reason) for before, after, reason, _ in await history(orders, order_id)],
        "steps": await steps_run(orders, order_id),
        "events": [(e["type"], sorted(e["data"]), e["data"]["reason"]) for e in events],
    }


async def test_batched_writes_leave_the_same_rows_as_the_orm_path(busy: Orders) -> None:
    body = {"lines": [line("WIDGET-BLUE", "2"), line("CABLE-USB-C", "3")]}
    busy.app.state.orders_recorder = _Declining(busy.app.state.db, lease=timedelta(seconds=60))
    before = await submit(busy, order_body("MP-ORM", **body))
    await process_pending_orders(busy.app)
    del busy.app.state.orders_recorder
    batched = await submit(busy, order_body("MP-BATCH", **body))
    await process_pending_orders(busy.app)

    assert busy.app.state.orders_recorder.recorded == 5
    assert await _written(busy, batched) == await _written(busy, before)


async def test_an_order_changed_since_it_was_read_is_left_to_the_orm_path(orders: Orders) -> None:
    order_id = await submit(orders)
    async with orders.app.state.db.transaction() as session:
        await session.execute(update(OrderRow).where(OrderRow.id == order_id).values(saga_step="check_credit"))
    async with orders.app.state.db.transaction() as session:
        stale = (await claimed_progress(session, order_ids=[order_id]))[order_id]
        await repository.request_cancellation(
            session, order_id=order_id, reason="changed my mind", at=datetime.now(UTC)
        )
    recorder = StepRecorder(orders.app.state.db, lease=timedelta(seconds=60))
    approved = CreditDecision(True, "no credit limit applies")

    assert await recorder.succeeded(progress=stale, step=SagaStep.check_credit, result=approved) is None

    row = await order_row(orders, order_id)
    assert (row.saga_step, row.version, row.cancel_reason) == ("check_credit", stale.version + 1, "changed my mind")
    assert await steps_run(orders, order_id) == []
    # Read again, the same success is recorded (the version it saw is the row's).
    async with orders.app.state.db.transaction() as session:
        fresh = (await claimed_progress(session, order_ids=[order_id]))[order_id]
    fresh = replace(fresh, cancel_pending=False)
    recorded = await recorder.succeeded(progress=fresh, step=SagaStep.check_credit, result=approved)
    assert recorded is not None and recorded.step is SagaStep.reserve_stock
    assert (await order_row(orders, order_id)).saga_step == "reserve_stock"
