"""A pass of the orders worker keeps its runners busy: an order that arrives while others are still
being advanced is taken by the pass under way, not left until its slowest order is done."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from process_apis.orders.app import create_app
from process_apis.orders.flows.recorder import StepRecorder
from process_apis.orders.flows.saga import Progress
from process_apis.orders.flows.worker import process_pending_orders
from process_apis.orders.models import SagaStep
from tests.support.tokens import static_verifier
from tests.unit.process_apis.conftest import Orders, order_body, orders_settings
from tests.unit.process_apis.orders_fakes import FakeTier
from tests.unit.process_apis.saga_helpers import submit


@pytest.fixture
async def two_runners(tmp_path: Path, tier: FakeTier) -> AsyncIterator[Orders]:
    settings = orders_settings(tmp_path, worker_concurrency=2, worker_poll_interval=60.0)
    app = create_app(settings, transport=tier.transport(), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://orders.test") as client:
            yield Orders(app=app, client=client, tier=tier)


class _SubmitsMidway(StepRecorder):
    """Once the first order has its stock reserved, submits a second order (intake wakes the
    worker) and holds the first order's runner until the second is done: only another runner of
    the same pass can do it."""

    def __init__(self, orders: Orders) -> None:
        super().__init__(orders.app.state.db, lease=timedelta(seconds=60))
        self.orders = orders
        self.late: str | None = None
        self.late_done = asyncio.Event()

    async def succeeded(self, *, progress: Progress, step: SagaStep, result: Any) -> Progress | None:
        if self.late is None and step is SagaStep.reserve_stock:
            self.late = await submit(self.orders, order_body("MP-LATE"))
            await asyncio.wait_for(self.late_done.wait(), timeout=10)  # bounds the failure only
        recorded = await super().succeeded(progress=progress, step=step, result=result)
        if progress.order.id == self.late and step is SagaStep.record_activity:
            self.late_done.set()
        return recorded


async def test_an_order_arriving_during_a_pass_is_taken_by_an_idle_runner_of_that_pass(two_runners: Orders) -> None:
    first = await submit(two_runners, order_body("MP-FIRST"))
    recorder = two_runners.app.state.orders_recorder = _SubmitsMidway(two_runners)

    assert await process_pending_orders(two_runners.app) == 2

    assert recorder.late is not None and recorder.late_done.is_set()
    assert {await two_runners.status(first), await two_runners.status(recorder.late)} == {"released"}


async def test_a_pass_ends_when_its_last_order_is_done(two_runners: Orders) -> None:
    ids = [await submit(two_runners, order_body(f"MP-{n}")) for n in range(3)]

    assert await process_pending_orders(two_runners.app) == 3
    assert await process_pending_orders(two_runners.app) == 0
    assert {await two_runners.status(order_id) for order_id in ids} == {"released"}
