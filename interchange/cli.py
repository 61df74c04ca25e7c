"""The ``interchange`` command line (typer)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from interchange import display
from interchange.explain import DEBUG_ENV, ExplainingGroup

app = typer.Typer(help="Interchange: API-led connectivity for distributors.", no_args_is_help=True, cls=ExplainingGroup)
contracts_app = typer.Typer(help="Published OpenAPI contracts under contracts/openapi/.", no_args_is_help=True)
app.add_typer(contracts_app, name="contracts")

console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="INTERCHANGE_DATA_DIR", help="Where databases and logs live.")
]


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", envvar=DEBUG_ENV, help="Show the traceback of an unexpected error.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display on stderr.")] = False,
) -> None:
    """A mistake is one line on stderr: exit code 2 for a usage error, 1 when the command could not
    do what was asked."""
    display.settings.quiet = quiet


@app.command()
def up(
    data_dir: DataDir = Path("var"),
    host: Annotated[str, typer.Option(help="Interface every service binds to.")] = "127.0.0.1",
    free_ports: Annotated[bool, typer.Option("--free-ports", help="Pick free ports instead of the defaults.")] = False,
    seed: Annotated[bool, typer.Option(help="Seed the demo data (idempotent).")] = True,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for every service to be ready.")] = 90.0,
    only: Annotated[
        list[str],
        typer.Option("--only", help="Start only this service (repeat for more); the others are not started."),
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    scale: Annotated[
        int,
        typer.Option("--scale", min=1, help="Replicas of every service behind nginx (PostgreSQL + Redis)."),
    ] = 1,
    database_url_template: Annotated[
        str,
        typer.Option(
            envvar="INTERCHANGE_DATABASE_URL_TEMPLATE",
            help="Each service's database, {service} replaced by its name: postgresql+asyncpg://user@host/{service}.",
        ),
    ] = "",
    events_url: Annotated[
        str, typer.Option(help="The event bus every replica shares: redis://host:6379/0 (INTERCHANGE_EVENTS_URL).")
    ] = "",
) -> None:
    """Start every service as its own process, on the embedded default (SQLite under --data-dir), and
    supervise them: a service that exits is started again after a back-off; Ctrl-C stops the suite.

    Ports: the defaults, free ones with --free-ports, or INTERCHANGE_<SERVICE>_PORT for one service.
    A port already taken fails the start at once (exit code 3), naming the port and its process.

    Scaled mode (--scale N, N > 1): N replicas of every service on PostgreSQL + Redis, each
    service's replicas behind one generated nginx on the service's port (docs/operations.md)."""
    from interchange.launcher import up as run_up
    from interchange.scale import ScaledMode, scaled_mode_problem
    from interchange.services import available_services

    known = {s.name for s in available_services()}
    unknown = sorted(set(only) - known)
    if unknown:
        raise typer.BadParameter(
            f"unknown service(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}", param_hint="--only"
        )
    mode = ScaledMode(replicas=scale, database_url_template=database_url_template, events_url=events_url)
    if problem := scaled_mode_problem(mode):
        raise typer.BadParameter(problem, param_hint="--scale" if scale > 1 else "--database-url-template")
    raise typer.Exit(
        run_up(
            data_dir=data_dir,
            host=host,
            free_ports=free_ports,
            seed=seed,
            ready_timeout=ready_timeout,
            only=frozenset(only) or None,
            scale=mode if (scale > 1 or database_url_template or events_url) else None,
        )
    )


@contracts_app.command("export")
def contracts_export() -> None:
    """Write each API's OpenAPI document and each event type's JSON Schema, generated from the code."""
    from interchange.contracts import export
    from interchange.event_contracts import export_event_schemas

    with display.working("exporting contracts") as step:
        written = [*export(on_step=step), *export_event_schemas()]
    for path in written:
        console.print(f"wrote {path}")
    console.print(f"{len(written)} contract(s) changed" if written else "contracts are up to date")


@contracts_app.command("check")
def contracts_check() -> None:
    """Fail when a committed contract or event schema is invalid, differs from the code, or breaks a
    published version."""
    from interchange.contracts import check
    from interchange.event_contracts import check_event_schemas

    with display.working("checking contracts") as step:
        problems = [*check(on_step=step), *check_event_schemas()]
    for problem in problems:
        err.print(problem, markup=False, highlight=False)
    if problems:
        err.print(
            f"[red]{len(problems)} contract problem(s)[/]; run `interchange contracts export` if the change is intended"
        )
        raise typer.Exit(1)
    console.print("contracts: valid and in step with the code")


# Each area adds its commands as a module under interchange/commands/ exposing a typer `app`
# (keys, audit, orders, events, inventory); the ones that exist are registered here.
for _area in ("clients", "keys", "audit", "orders", "events", "inventory", "secrets", "db", "partners"):
    if importlib.util.find_spec(f"interchange.commands.{_area}") is not None:
        _module = importlib.import_module(f"interchange.commands.{_area}")
        app.add_typer(_module.app, name=_area)


if __name__ == "__main__":
    app()
