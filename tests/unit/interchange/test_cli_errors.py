"""Every ordinary mistake on the command line is one ``error:`` line on stderr and a non-zero exit
(2 for a usage error, 1 when the command could not do it), never a traceback; an unexpected
error says how to see its traceback."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

import gateway.clients
from tests.unit.interchange.cli_support import isolate, one_line, run


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate(monkeypatch)
    return tmp_path


def create(data_dir: Path, client_id: str, *extra: str) -> Any:
    return run(
        data_dir, "clients", "create", "--client-id", client_id, "--kind", "internal", "--scope", "orders:read", *extra
    )


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["clients", "create", "--kind", "robot"], "'--kind'"),
        (["nosuch"], "No such command 'nosuch'"),
        (["up", "--only", "nope"], "unknown service(s) nope; known: crm, erp"),
        (["orders", "timeline"], "Missing argument"),
        (["orders", "exceptions", "--kind", "weird"], "not one of technical, credit_review"),
        (["audit", "--since", "yesterday"], "--since"),
        (["clients", "create", "--scope", "orders:read", "--scope", "orders:everything"], "unknown scope(s) orders:ev"),
        (
            ["clients", "create", "--scope", "orders:read", "--tier", "gold"],
            "unknown rate tier 'gold'; valid: internal",
        ),
    ],
)
def test_a_usage_error_is_one_line_and_exit_code_2(data_dir: Path, args: list[str], names: str) -> None:
    result = run(data_dir, *args)

    assert result.exit_code == 2
    line = one_line(result)
    assert names in line
    assert "--help`)" in line  # where to read more


def test_unknown_scopes_and_tiers_are_refused_naming_the_valid_ones(data_dir: Path) -> None:
    scope = one_line(create(data_dir, "c1", "--scope", "orders:everything"))
    tier = one_line(create(data_dir, "c1", "--tier", "gold"))

    assert "valid: marketplace:orders.write" in scope and "orders:admin" in scope
    assert "valid: internal, standard" in tier
    assert not (data_dir / "gateway.db").exists()  # refused before anything was written


def test_a_duplicate_client_is_one_line(data_dir: Path) -> None:
    assert create(data_dir, "ops-1").exit_code == 0
    again = create(data_dir, "ops-1")

    assert again.exit_code == 1
    assert one_line(again) == "error: A client 'ops-1' already exists."


@pytest.mark.parametrize("command", ["disable", "enable", "rotate-secret"])
def test_an_unknown_client_is_one_line(data_dir: Path, command: str) -> None:
    assert create(data_dir, "ops-1").exit_code == 0
    result = run(data_dir, "clients", command, "nobody")

    assert result.exit_code == 1
    assert one_line(result) == "error: No client 'nobody'."


def enabled_column(data_dir: Path, client_id: str) -> str:
    (row,) = [line for line in run(data_dir, "clients", "list").output.splitlines() if f" {client_id} " in line]
    return row.split("│")[6].strip()


def test_a_disabled_client_is_enabled_again(data_dir: Path) -> None:
    assert create(data_dir, "ops-1").exit_code == 0
    assert run(data_dir, "clients", "disable", "ops-1").exit_code == 0
    assert enabled_column(data_dir, "ops-1") == "no"

    enabled = run(data_dir, "clients", "enable", "ops-1")

    assert enabled.exit_code == 0 and "ops-1 enabled" in enabled.output
    assert enabled_column(data_dir, "ops-1") == "yes"


@pytest.mark.parametrize(
    "args",
    [
        ["clients", "list"],
        ["keys", "list"],
        ["audit"],
        ["orders", "exceptions"],
        ["orders", "timeline", "PO-1"],
        ["events", "dead-letters"],
        ["inventory", "availability", "SKU-1"],
        ["secrets", "rotate"],
    ],
)
def test_a_data_dir_the_suite_never_ran_in_is_one_line_and_stays_absent(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "var"

    result = run(missing, *args)

    assert result.exit_code == 1
    assert f"no data directory {missing}: the suite has not run here yet" in one_line(result)
    assert not missing.exists()


@pytest.mark.parametrize(
    ("args", "database"),
    [(["clients", "list"], "gateway"), (["events", "dead-letters"], "events")],
)
def test_a_missing_database_is_one_line_and_not_created(data_dir: Path, args: list[str], database: str) -> None:
    result = run(data_dir, *args)

    assert result.exit_code == 1
    assert f"{database}.db (has the suite run with this data directory?)" in one_line(result)
    assert not (data_dir / f"{database}.db").exists()


def test_a_file_that_is_not_a_database_is_one_line(data_dir: Path) -> None:
    (data_dir / "gateway.db").write_text("not a database")

    result = run(data_dir, "clients", "list")

    assert result.exit_code == 1
    assert one_line(result) == "error: not a usable database: file is not a database"


def test_a_locked_database_is_one_line(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert create(data_dir, "ops-1").exit_code == 0

    async def locked(*_: object, **__: object) -> None:
        raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(gateway.clients, "list_clients", locked)
    result = run(data_dir, "clients", "list")

    assert result.exit_code == 1
    assert "the database is locked by another process" in one_line(result)


def test_an_unexpected_error_is_one_line_with_a_hint_and_debug_shows_it(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert create(data_dir, "ops-1").exit_code == 0

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("the flux capacitor")

    monkeypatch.setattr(gateway.clients, "list_clients", broken)
    plain = run(data_dir, "clients", "list")
    debug = run(data_dir, "--debug", "clients", "list")
    by_env = run(data_dir, "clients", "list", env={"INTERCHANGE_DEBUG": "1"})

    assert plain.exit_code == 1
    assert one_line(plain) == (
        "error: unexpected RuntimeError: the flux capacitor; "
        "rerun with --debug (or INTERCHANGE_DEBUG=1) for the traceback"
    )
    assert isinstance(debug.exception, RuntimeError) and isinstance(by_env.exception, RuntimeError)


def test_the_command_line_starts_without_importing_the_services(tmp_path: Path) -> None:
    """``interchange --help`` and every error of usage come before any service code is imported."""
    probe = "import sys, interchange.cli; print(sorted({'sqlalchemy', 'fastapi', 'service_kit'} & set(sys.modules)))"
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert imported.stdout.strip() == "[]"
