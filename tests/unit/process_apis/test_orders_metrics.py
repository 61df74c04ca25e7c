"""The orders process's business metrics: orders received, accepted, rejected and parked by
channel, each saga step's time, and the exception queue's size and oldest age at scrape time."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.unit.process_apis.conftest import Orders, line, order_body
from tests.unit.process_apis.orders_fakes import ERP
from tests.unit.process_apis.saga_helpers import run_until_stopped, submit
from tests.unit.service_kit.events.event_helpers import eventually


async def scrape(orders: Orders) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = await orders.client.get("/metrics")
    assert resp.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def orders_total(scraped: dict[tuple[str, tuple[tuple[str, str], ...]], float], channel: str, outcome: str) -> float:
    return scraped.get(("interchange_orders_total", (("channel", channel), ("outcome", outcome))), 0.0)


async def test_orders_are_counted_by_channel_and_outcome(orders: Orders) -> None:
    await submit(orders, order_body("MP-1"))
    await submit(orders, order_body("MP-2", lines=[line("WIDGET-RED", "10")]))  # more than the WMS holds
    await submit(orders, order_body("PO-1", channel="b2b", customer_id="C-2001", lines=[line("CABLE-USB-C")]))
    await run_until_stopped(orders)

    scraped = await scrape(orders)

    assert [orders_total(scraped, "marketplace", o) for o in ("received", "accepted", "rejected", "parked")] == [
        2,
        1,
        1,
        0,
    ]
    assert [orders_total(scraped, "b2b", o) for o in ("received", "accepted", "rejected")] == [1, 1, 0]
    step = (
        "interchange_orders_saga_step_duration_seconds_count",
        (("outcome", "succeeded"), ("step", "reserve_stock")),
    )
    assert scraped[step] == 2  # the two that were in stock


async def test_a_parked_order_is_counted_and_in_the_exception_queue_gauges(orders: Orders) -> None:
    empty = await scrape(orders)
    await submit(orders)
    orders.tier.fault(ERP, "POST", "/v1/sales-order-batches", *["503"] * 6)
    await run_until_stopped(orders)

    scraped = await scrape(orders)

    assert empty[("interchange_orders_exception_queue_size", ())] == 0
    assert orders_total(scraped, "marketplace", "parked") == 1
    assert scraped[("interchange_orders_exception_queue_size", ())] == 1
    assert scraped[("interchange_orders_exception_queue_oldest_age_seconds", ())] >= 0
    failed = (
        "interchange_orders_saga_step_duration_seconds_count",
        (("outcome", "failed"), ("step", "create_sales_order")),
    )
    assert scraped[failed] >= 1


async def snapshot_loaded_at(orders: Orders) -> float:
    return (await scrape(orders)).get(("interchange_orders_master_data_snapshot_timestamp_seconds", ()), 0.0)


@pytest.mark.parametrize("worker_enabled", [True])
async def test_the_master_data_snapshot_is_a_readiness_signal_on_the_metrics(orders: Orders) -> None:
    """0 until the snapshot is loaded, then when it was (bench/orders.py waits for it)."""
    before = time.time()
    loaded = await eventually(lambda: snapshot_loaded_at(orders))  # the feed starts with the app
    assert before - 1 <= loaded <= time.time()
    assert len(orders.tier.seen("GET", ERP, "/v1/price-lists")) == 1  # set after the snapshot's last call


async def test_no_snapshot_reads_zero(orders: Orders) -> None:
    assert await snapshot_loaded_at(orders) == 0.0  # the feed does not run without the worker
