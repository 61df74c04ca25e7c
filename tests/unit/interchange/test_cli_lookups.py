"""``orders timeline`` finds an order by any of its references, ``audit --json`` prints one JSON
object per call, and progress shows only on a terminal and never with --quiet."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from rich.console import Console

from gateway.audit import AuditLog
from gateway.models import Base as GatewayBase
from interchange import display
from process_apis.orders.models import Base as OrdersBase
from process_apis.orders.models import OrderRow
from service_kit.db import Database
from tests.unit.interchange.cli_support import isolate, one_line, run

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def order(order_id: str, channel_order_id: str, *, channel: str = "marketplace", **extra: str) -> OrderRow:
    return OrderRow(
        id=order_id,
        channel=channel,
        channel_order_id=channel_order_id,
        partner_id="acme-market",
        customer_id="C-1001",
        currency="EUR",
        status="accepted",
        created_at=NOW,
        updated_at=NOW,
        **extra,
    )


@pytest.fixture
def orders_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate(monkeypatch)

    async def seed() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}", metadata=[OrdersBase.metadata])
        try:
            await db.create_schema()
            async with db.transaction() as session:
                session.add(order("ord_1", "PO-1", erp_order_number="SO-000123", correlation_id="cid-placed-1"))
                session.add(order("ord_2", "PO-2", correlation_id="cid-2"))
                session.add(order("ord_3", "PO-2", channel="storefront", correlation_id="cid-3"))
        finally:
            await db.dispose()

    asyncio.run(seed())
    return tmp_path


@pytest.mark.parametrize("reference", ["ord_1", "PO-1", "marketplace:PO-1", "SO-000123", "cid-placed-1"])
def test_the_timeline_takes_any_reference_to_an_order(orders_dir: Path, reference: str) -> None:
    result = run(orders_dir, "orders", "timeline", reference)

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["order"]["id"] == "ord_1"


def test_a_channel_prefix_tells_apart_orders_that_share_a_channel_order_id(orders_dir: Path) -> None:
    shared = run(orders_dir, "orders", "timeline", "PO-2")
    storefront = run(orders_dir, "orders", "timeline", "storefront:PO-2")

    assert shared.exit_code == 1
    assert one_line(shared) == (
        "error: 'PO-2' names several orders; give one of their ids: ord_2 (marketplace:PO-2), ord_3 (storefront:PO-2)"
    )
    assert json.loads(storefront.stdout)["order"]["id"] == "ord_3"


def test_an_unknown_order_is_one_line(orders_dir: Path) -> None:
    result = run(orders_dir, "orders", "timeline", "PO-404")

    assert result.exit_code == 1
    assert one_line(result) == (
        "error: no order 'PO-404': not an order id, channel order id, ERP sales order number or correlation id"
    )


def test_audit_json_is_one_object_per_call_newest_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch)

    async def seed() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}", metadata=[GatewayBase.metadata])
        await db.create_schema()
        audit = AuditLog(db, queue_size=10, batch_size=10, registry=CollectorRegistry())
        for i, status in enumerate((200, 429)):
            at = NOW.timestamp() + i
            op = ("GET", "marketplace", "v1", "getOrder", "/marketplace/v1/orders/{id}", status, 1.5, f"cid-{i}")
            audit.record((at, "acme-market", "acme-market", *op))
        await audit.flush()
        await db.dispose()

    asyncio.run(seed())
    result = run(tmp_path, "audit", "--json")
    empty = run(tmp_path, "audit", "--json", "--status", "5xx")

    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["status"], r["correlation_id"]) for r in records] == [(429, "cid-1"), (200, "cid-0")]
    assert records[0]["at"] == "2026-12-01T09:00:01+00:00"
    assert records[0]["operation"] == "getOrder" and records[0]["partner_id"] == "acme-market"
    assert empty.exit_code == 0 and empty.stdout == ""


def terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=100)


@pytest.mark.parametrize(("quiet", "shown"), [(False, True), (True, False)])
def test_progress_shows_on_a_terminal_unless_quiet(monkeypatch: pytest.MonkeyPatch, quiet: bool, shown: bool) -> None:
    monkeypatch.setattr(display.settings, "quiet", quiet)
    console = terminal()

    with display.working("checking contracts", console=console) as step:
        step("generating the orders API")

    assert ("checking contracts: generating the orders API" in console.file.getvalue()) is shown  # type: ignore[attr-defined]


def test_progress_is_off_when_stderr_is_not_a_terminal() -> None:
    console = Console(file=io.StringIO(), force_terminal=False)

    with display.working("checking contracts", console=console) as step:
        step("generating the orders API")

    assert console.file.getvalue() == ""  # type: ignore[attr-defined]


def test_quiet_is_an_option_of_every_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch)
    monkeypatch.setattr(display.settings, "quiet", False)

    run(tmp_path, "--quiet", "clients", "list")

    assert display.settings.quiet is True


def test_a_step_inside_a_step_updates_the_one_spinner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(display.settings, "quiet", False)
    console = terminal()

    with display.working("reconciling", console=console), display.working("reading the inventory database"):
        pass  # rich allows one live display at a time: a second one would raise LiveError

    assert "reading the inventory database" in console.file.getvalue()  # type: ignore[attr-defined]
    assert display.settings.shown is None
