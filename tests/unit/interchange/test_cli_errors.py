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
        (["up", "--only", "nope"], "unknown service(s) nope; known: "),
        (["orders", "timeline"], "Missing argument"),
        (["orders", "exceptions", "--kind", "weird"], "not one of technical, credit_review"),
        (["audit", "--since", "yesterday"], "--since"),
        (["clients", "create", "--scope", "orders:read", "--scope", "orders:everything"], "unknown scope(s) orders:ev"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_code_2(data_dir: Path, args: list[str], names: str) -> None:
    result = run(data_dir, *args)

    assert result.exit_code == 2
    line = one_line(result)
    assert names in line
    assert "--help`)" in line  # where to read more


def test_unknown_scopes_are_refused_naming_the_valid_ones(data_dir: Path) -> None:
    scope = one_line(create(data_dir, "c1", "--scope", "orders:everything"))

    assert "valid: marketplace:orders.write" in scope and "orders:admin" in scope
    assert not (data_dir / "gateway.db").exists()  # refused before anything was asked or written


def test_bootstrap_registers_the_first_operator_in_the_gateways_database(data_dir: Path) -> None:
    """The one clients command that stays local: no token exists yet to call the admin API with."""
    from gateway.clients import list_clients
    from interchange.bootstrap import OPS_CLI
    from interchange.commands.keys import with_gateway_db

    first = run(data_dir, "clients", "bootstrap")
    again = run(data_dir, "clients", "bootstrap")

    assert first.exit_code == 0, first.output
    assert "client_id=ops-admin\nclient_secret=" in first.stdout
    (info,) = with_gateway_db(data_dir, lambda db, _: list_clients(db))
    assert (info.client_id, info.kind, info.scopes) == ("ops-admin", "internal", OPS_CLI.scopes)
    assert again.exit_code == 1 and one_line(again) == "error: A client 'ops-admin' already exists."


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


def test_a_missing_database_is_one_line_and_not_created(data_dir: Path) -> None:
    result = run(data_dir, "audit", "prune")  # maintenance beside the gateway: it opens the database

    assert result.exit_code == 1
    assert "gateway.db (has the suite run with this data directory?)" in one_line(result)
    assert not (data_dir / "gateway.db").exists()


def test_a_file_that_is_not_a_database_is_one_line(data_dir: Path) -> None:
    (data_dir / "gateway.db").write_text("not a database")

    result = run(data_dir, "clients", "bootstrap")

    assert result.exit_code == 1
    assert one_line(result) == "error: not a usable database: file is not a database"


def test_a_locked_database_is_one_line(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def locked(*_: object, **__: object) -> None:
        raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(gateway.clients, "create_client", locked)
    result = run(data_dir, "clients", "bootstrap")

    assert result.exit_code == 1
    assert "the database is locked by another process" in one_line(result)


def test_an_unexpected_error_is_one_line_with_a_hint_and_debug_shows_it(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("the flux capacitor")

    monkeypatch.setattr(gateway.clients, "create_client", broken)
    plain = run(data_dir, "clients", "bootstrap")
    debug = run(data_dir, "--debug", "clients", "bootstrap")
    by_env = run(data_dir, "clients", "bootstrap", env={"INTERCHANGE_DEBUG": "1"})

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
