"""``audit --json`` prints one JSON object per call, and progress shows only on a terminal and
never with --quiet. (``orders timeline`` by any reference: test_cli_orders_admin.py.)"""

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
from service_kit.db import Database
from tests.unit.interchange.cli_support import isolate, run

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


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
