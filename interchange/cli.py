"""The ``interchange`` command line (typer)."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Interchange: API-led connectivity for distributors.", no_args_is_help=True)
contracts_app = typer.Typer(help="Published OpenAPI contracts under contracts/openapi/.", no_args_is_help=True)
clients_app = typer.Typer(help="OAuth clients in the gateway's database.", no_args_is_help=True)
app.add_typer(contracts_app, name="contracts")
app.add_typer(clients_app, name="clients")

console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="INTERCHANGE_DATA_DIR", help="Where databases and logs live.")
]


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
) -> None:
    """Start every service as its own process, on the embedded default (SQLite under --data-dir), and
    supervise them: a service that exits is started again after a back-off; Ctrl-C stops the suite.

    Ports: the defaults, free ones with --free-ports, or INTERCHANGE_<SERVICE>_PORT for one service.
    A port already taken fails the start at once (exit code 3), naming the port and its process."""
    from interchange.launcher import up as run_up
    from interchange.services import available_services

    known = {s.name for s in available_services()}
    unknown = sorted(set(only) - known)
    if unknown:
        raise typer.BadParameter(f"unknown service(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    raise typer.Exit(
        run_up(
            data_dir=data_dir,
            host=host,
            free_ports=free_ports,
            seed=seed,
            ready_timeout=ready_timeout,
            only=frozenset(only) or None,
        )
    )


@contracts_app.command("export")
def contracts_export() -> None:
    """Write each API's OpenAPI document and each event type's JSON Schema, generated from the code."""
    from interchange.contracts import export
    from interchange.event_contracts import export_event_schemas

    written = [*export(), *export_event_schemas()]
    for path in written:
        console.print(f"wrote {path}")
    console.print(f"{len(written)} contract(s) changed" if written else "contracts are up to date")


@contracts_app.command("check")
def contracts_check() -> None:
    """Fail when a committed contract or event schema is invalid, differs from the code, or breaks a
    published version."""
    from interchange.contracts import check
    from interchange.event_contracts import check_event_schemas

    problems = [*check(), *check_event_schemas()]
    for problem in problems:
        err.print(problem, markup=False, highlight=False)
    if problems:
        err.print(
            f"[red]{len(problems)} contract problem(s)[/]; run `interchange contracts export` if the change is intended"
        )
        raise typer.Exit(1)
    console.print("contracts: valid and in step with the code")


def _gateway_db():  # type: ignore[no-untyped-def]
    from gateway.models import Base
    from service_kit.db import Database
    from service_kit.settings import ServiceSettings

    settings = ServiceSettings.load("gateway")
    return Database(settings.database_url, metadata=[Base.metadata])


async def _with_gateway_db(action):  # type: ignore[no-untyped-def]
    db = _gateway_db()
    try:
        await db.create_schema()
        return await action(db)
    finally:
        await db.dispose()


@clients_app.command("create")
def clients_create(
    kind: Annotated[str, typer.Option(help="partner, service or internal")] = "partner",
    scope: Annotated[list[str], typer.Option("--scope", help="A scope to grant; repeat for more.")] = [],  # noqa: B006
    partner_id: Annotated[str | None, typer.Option(help="The partner this client acts for.")] = None,
    channel: Annotated[str | None, typer.Option(help="The partner's channel, e.g. marketplace.")] = None,
    tier: Annotated[str, typer.Option(help="Rate tier.")] = "standard",
    client_id: Annotated[str | None, typer.Option(help="Choose the id (default: generated).")] = None,
) -> None:
    """Register a client; its secret is shown once."""
    from gateway.clients import create_client

    async def action(db):  # type: ignore[no-untyped-def]
        return await create_client(
            db, client_id=client_id, kind=kind, partner_id=partner_id, channel=channel, scopes=scope, tier=tier
        )

    new_id, secret = asyncio.run(_with_gateway_db(action))
    console.print(f"client_id={new_id}\nclient_secret={secret}\n(the secret is not stored in clear; keep it now)")


@clients_app.command("list")
def clients_list() -> None:
    """Show every client (never its secret)."""
    from gateway.clients import list_clients

    rows = asyncio.run(_with_gateway_db(list_clients))
    table = Table("client id", "kind", "partner", "channel", "tier", "enabled", "scopes")
    for c in rows:
        table.add_row(
            c.client_id,
            c.kind,
            c.partner_id or "-",
            c.channel or "-",
            c.tier,
            "yes" if c.enabled else "no",
            " ".join(c.scope_list),
        )
    console.print(table)


@clients_app.command("disable")
def clients_disable(client_id: str) -> None:
    """Stop a client from getting new tokens; the gateway and every service refuse the ones it has
    within seconds."""
    from gateway.clients import disable_client

    asyncio.run(_with_gateway_db(lambda db: disable_client(db, client_id)))
    console.print(f"{client_id} disabled")


@clients_app.command("enable")
def clients_enable(client_id: str) -> None:
    """Let a disabled client get tokens again; its unexpired tokens are accepted again."""
    from gateway.clients import enable_client

    asyncio.run(_with_gateway_db(lambda db: enable_client(db, client_id)))
    console.print(f"{client_id} enabled")


@clients_app.command("rotate-secret")
def clients_rotate_secret(client_id: str) -> None:
    """Issue a new secret (shown once); the old one stops working."""
    from gateway.clients import rotate_secret

    secret = asyncio.run(_with_gateway_db(lambda db: rotate_secret(db, client_id)))
    console.print(f"client_id={client_id}\nclient_secret={secret}")


# Each area adds its commands as a module under interchange/commands/ exposing a typer `app`
# (keys, audit, orders, events, inventory); the ones that exist are registered here.
for _area in ("keys", "audit", "orders", "events", "inventory", "secrets"):
    if importlib.util.find_spec(f"interchange.commands.{_area}") is not None:
        _module = importlib.import_module(f"interchange.commands.{_area}")
        app.add_typer(_module.app, name=_area)


if __name__ == "__main__":
    app()
