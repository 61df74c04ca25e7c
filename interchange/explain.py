"""The one place where a failed ``interchange`` command becomes one line on stderr and an exit code.

Commands raise; they do not print their own errors. ``ExplainingGroup`` (the root group's class)
catches what comes out of a command:

    a usage error (bad option, bad choice, missing argument)   exit 2  typer's convention
    CommandFailed, the project's errors (NotFound, Conflict...),
    a locked, missing or foreign database, an unreachable host  exit 1  "could not do it"
    anything else                                               exit 1  one line and a hint:
                                                                        rerun with --debug or
                                                                        INTERCHANGE_DEBUG=1

and prints ``error: <what went wrong>``. With ``--debug`` an unexpected exception keeps its
traceback. Why a group subclass and not a try/except per command: the usage errors are raised by
typer before any command runs, so only the group sees every failure; typer's own output for them
is a multi-line panel.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

DEBUG_ENV = "INTERCHANGE_DEBUG"
RERUN_HINT = f"rerun with --debug (or {DEBUG_ENV}=1) for the traceback"


class CommandFailed(Exception):
    """A command could not do what was asked, for a reason the user can act on (exit code 1)."""


class _Explained(typer.TyperException):
    """An error already turned into its line, on its way out of the group."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def explain(exc: BaseException) -> str | None:
    """The line for an error we expect, or None for one we do not."""
    if isinstance(exc, CommandFailed):
        return str(exc)
    from service_kit.errors import InterchangeError

    if isinstance(exc, InterchangeError):
        return exc.detail
    orig = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    if isinstance(orig, sqlite3.OperationalError):
        text = str(orig)
        if "locked" in text or "busy" in text:
            return "the database is locked by another process (a running service or command); try again in a moment"
        if "unable to open" in text:
            return "cannot open the database file: does its directory exist, and may you write to it?"
        return f"the database refused the command: {text} (is --data-dir the suite's data directory?)"
    if isinstance(orig, sqlite3.DatabaseError):
        return f"not a usable database: {orig}"
    module = type(exc).__module__.split(".")[0]
    if module == "httpx":
        request = getattr(exc, "_request", None)
        where = f" {request.method} {request.url}" if request is not None else ""
        return f"the call{where} failed: {exc or type(exc).__name__} (is the suite running?)"
    if module == "redis":
        return f"the event bus (Redis) failed: {exc}"
    if module == "service_kit":
        from service_kit.events.port import EventBusError

        if isinstance(exc, EventBusError):  # an unknown dead letter, a bus that cannot answer
            return str(exc) if isinstance(exc, LookupError) else f"the event bus failed: {exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return None


def require_database(url: str, *, service: str, create: bool = False) -> None:
    """Fail with one line, before anything creates it, when a service's SQLite file is not there:
    the data directory does not exist (the suite never ran there, or --data-dir is wrong), or,
    unless ``create``, the file itself is missing (that service never ran with it). Other databases
    (PostgreSQL) are the deployment's to create."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return
    path = Path(parsed.database)
    if not path.parent.is_dir():
        raise CommandFailed(
            f"no data directory {path.parent}: the suite has not run here yet "
            "(start it with `interchange up`, or give --data-dir / INTERCHANGE_DATA_DIR)"
        )
    if not create and not path.exists():
        raise CommandFailed(f"no {service} database at {path} (has the suite run with this data directory?)")


class ExplainingGroup(TyperGroup):
    """The root group, and each command group (so a group run on its own, as tests do, explains
    too): every failure below it leaves as one line (see the module's docstring)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort, KeyboardInterrupt):
            raise  # typer's own signals (usage errors, exit codes) pass as they are
        except Exception as exc:
            line = explain(exc)
            if line is None:
                if ctx.find_root().params.get("debug"):
                    raise
                line = f"unexpected {type(exc).__name__}: {exc}; {RERUN_HINT}"
            raise _Explained(line) from exc

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        passed = {"windows_expand_args": windows_expand_args, **extra}
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **passed)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **passed)
        except typer.TyperException as exc:  # typer's usage errors, and ours
            sys.exit(_show(exc))
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _show(exc: typer.TyperException) -> int:
    if type(exc).__name__ == "NoArgsIsHelpError":  # ``interchange`` alone: the help, as typer shows it
        from typer import core

        if not core.HAS_RICH:
            exc.show()  # type: ignore[attr-defined]
        return exc.exit_code
    line = exc.format_message().strip().replace("\n", " ")
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:  # a usage error: say where the help is
        line = f"{line} (see `{ctx.command_path} --help`)"
    typer.echo(f"error: {line}", err=True)
    return exc.exit_code
