"""Helpers for the CLI's tests: run ``interchange`` in process and read its one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from interchange.cli import app

# Settings that would point the commands away from the test's data directory.
_ELSEWHERE = (
    "INTERCHANGE_DATABASE_URL",
    "INTERCHANGE_GATEWAY_DATABASE_URL",
    "INTERCHANGE_ORDERS_DATABASE_URL",
    "INTERCHANGE_INVENTORY_DATABASE_URL",
    "INTERCHANGE_EVENTS_URL",
    "INTERCHANGE_DEBUG",
    "INTERCHANGE_OPS_CLIENT_ID",
    "INTERCHANGE_OPS_CLIENT_SECRET",
    "INTERCHANGE_GATEWAY_URL",
    "INTERCHANGE_ORDERS_URL",
    "INTERCHANGE_INVENTORY_URL",
)


def isolate(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ELSEWHERE:
        monkeypatch.delenv(name, raising=False)


def run(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """``interchange <args>`` with ``INTERCHANGE_DATA_DIR=data_dir``; returns typer's Result."""
    return CliRunner().invoke(
        app, list(args), env={"INTERCHANGE_DATA_DIR": str(data_dir), "COLUMNS": "250", **(env or {})}
    )


def one_line(result: Any) -> str:
    """The single ``error: ...`` line a failed command printed, with nothing else on stderr."""
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return str(lines[0])
