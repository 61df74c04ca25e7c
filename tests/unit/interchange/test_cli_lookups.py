"""Progress shows only on a terminal and never with --quiet. (``orders timeline`` by any reference:
test_cli_orders_admin.py; ``audit --json``: tests/unit/gateway/test_gateway_audit_admin.py.)"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from interchange import display
from tests.unit.interchange.cli_support import isolate, run

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


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
