"""The pivot in batches: orders due for their sales order at the same time go to the ERP in one
call, and an entry the ERP refuses rejects only its own order (with the ERP's reason)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from contracts import MAX_SALES_ORDER_BATCH, Money, Quantity, SalesOrderCreate, SalesOrderLineCreate
from process_apis.orders.app import create_app
from process_apis.orders.clients import ErpClient, Refused
from process_apis.orders.flows.pivot import PivotBatcher
from service_kit.app import upstream
from service_kit.errors import UpstreamUnavailable
from tests.support.tokens import static_verifier
from tests.unit.process_apis.conftest import Orders, order_body, orders_settings
from tests.unit.process_apis.orders_fakes import ERP, FakeTier
from tests.unit.process_apis.saga_helpers import order_row, run_until_stopped, submit


def sales_order(reference: str) -> SalesOrderCreate:
    return SalesOrderCreate(
        external_reference=reference,
        customer_id="C-1001",
        currency="EUR",
        lines=[SalesOrderLineCreate(sku="CABLE-USB-C", quantity=Quantity.of(1), unit_price=Money.of("9.50", "EUR"))],
    )


async def test_orders_due_together_go_in_one_call_each_with_its_own_answer(orders: Orders) -> None:
    orders.tier.refuse_entries["ord_b"] = "Customer 'C-1001' is blocked in the ERP."
    batcher = PivotBatcher(lambda correlation_id: ErpClient(upstream(orders.app, "erp"), correlation_id=correlation_id))
    answers = await asyncio.gather(
        *(batcher.book(sales_order(ref)) for ref in ("ord_a", "ord_b", "ord_c")), return_exceptions=True
    )
    assert len(orders.tier.seen("POST", ERP, "/v1/sales-order-batches")) == 1
    assert (batcher.calls, batcher.entries) == (1, 3)
    assert [getattr(a, "external_reference", None) for a in answers] == ["ord_a", None, "ord_c"]
    assert isinstance(answers[1], Refused) and "blocked" in answers[1].detail
    assert sorted(orders.tier.sales_orders) == ["ord_a", "ord_c"]


async def test_a_failed_batch_call_fails_every_order_in_it_technically(orders: Orders) -> None:
    orders.tier.down.add(ERP)
    batcher = PivotBatcher(lambda correlation_id: ErpClient(upstream(orders.app, "erp"), correlation_id=correlation_id))
    answers = await asyncio.gather(*(batcher.book(sales_order(r)) for r in ("ord_x", "ord_y")), return_exceptions=True)
    assert all(isinstance(a, UpstreamUnavailable) for a in answers)
    assert orders.tier.sales_orders == {}


async def test_a_partly_refused_batch_rejects_only_the_refused_order_with_the_erps_reason(
    tmp_path: Path, tier: FakeTier
) -> None:
    app = create_app(
        orders_settings(tmp_path, worker_concurrency=4), transport=tier.transport(), verifier=static_verifier()
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders.test") as client:
            orders = Orders(app=app, client=client, tier=tier)
            ids = [await submit(orders, order_body(f"MP-{n}")) for n in range(4)]
            tier.refuse_entries[ids[2]] = "Customer 'C-1001' is blocked in the ERP."
            await run_until_stopped(orders)
            rows: list[Any] = [await order_row(orders, order_id) for order_id in ids]
    assert [r.status for r in rows] == ["released", "released", "rejected", "released"]
    assert "the ERP refused the sales order: Customer 'C-1001' is blocked" in (rows[2].rejection_reason or "")
    assert sorted(tier.sales_orders) == sorted(ids[:2] + ids[3:])
    refused_stock = [r for r in tier.reservations.values() if r["reference"] == ids[2]]
    assert [r["status"] for r in refused_stock] == ["released"]  # compensated: nothing kept
    calls = len(tier.seen("POST", ERP, "/v1/sales-order-batches"))
    assert 1 <= calls <= 4


def test_the_pivot_batch_size_cannot_exceed_what_the_erp_accepts_in_one_call(tmp_path: Path) -> None:
    assert orders_settings(tmp_path).pivot_batch_size == MAX_SALES_ORDER_BATCH
    with pytest.raises(ValidationError):
        orders_settings(tmp_path, pivot_batch_size=MAX_SALES_ORDER_BATCH + 1)
