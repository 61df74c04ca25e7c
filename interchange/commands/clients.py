"""``interchange clients ...``: the gateway's OAuth clients, through its operators-only admin API
(``/admin/clients``, gateway/admin_clients.py) with an ops token (interchange.admin_client): the
same commands work against the local suite and a deployment, and never open the gateway's database.

interchange clients create --kind partner --partner-id acme-market --channel marketplace \\
    --scope marketplace:orders.write --tier standard
interchange clients disable acme-market-1a2b3c4d

``bootstrap`` is the exception: it registers a deployment's first operator client directly in
the gateway's database, beside the gateway like migrations, because no token exists yet to call
the admin API with (``interchange up`` registers the local suite's ``ops-cli`` the same way).
A secret is printed once, on stdout only; the gateway keeps its hash.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from interchange import display
from interchange.admin_client import DataDir, admin_api
from interchange.explain import ExplainingGroup

app = typer.Typer(help="OAuth clients registered at the gateway.", no_args_is_help=True, cls=ExplainingGroup)
console = Console()


class Kind(StrEnum):
    partner = "partner"
    service = "service"
    internal = "internal"


def _check_scopes(scopes: list[str]) -> None:
    from contracts.scopes import ALL

    unknown = [s for s in scopes if s not in ALL]
    if unknown:
        raise typer.BadParameter(
            f"unknown scope(s) {', '.join(unknown)}; valid: {', '.join(ALL)}", param_hint="--scope"
        )


def _show_secret(answer: dict[str, Any]) -> None:
    console.print(
        f"client_id={answer['client_id']}\nclient_secret={answer['client_secret']}\n"
        "(the secret is not stored in clear; keep it now)",
        markup=False,
        highlight=False,
    )


@app.command("create")
def create(
    kind: Annotated[Kind, typer.Option(help="Who the client is.")] = Kind.partner,
    scope: Annotated[list[str], typer.Option("--scope", help="A scope to grant; repeat for more.")] = [],  # noqa: B006
    partner_id: Annotated[str | None, typer.Option(help="The partner this client acts for.")] = None,
    channel: Annotated[str | None, typer.Option(help="The partner's channel, e.g. marketplace.")] = None,
    tier: Annotated[str, typer.Option(help="Rate tier: one of the gateway's rate limit table.")] = "standard",
    client_id: Annotated[str | None, typer.Option(help="Choose the id (default: generated).")] = None,
    data_dir: DataDir = Path("var"),
) -> None:
    """Register a client; its secret is shown once. The gateway checks the tier against its rate
    limit table."""
    _check_scopes(scope)
    body = {
        "kind": kind.value,
        "scopes": scope,
        "partner_id": partner_id,
        "channel": channel,
        "tier": tier,
        "client_id": client_id,
    }
    with admin_api("gateway", data_dir=data_dir) as gateway, display.working("registering the client"):
        answer = gateway.post("/admin/clients", json=body)
    _show_secret(answer)


@app.command("list")
def list_(data_dir: DataDir = Path("var")) -> None:
    """Show every client (never its secret)."""
    with admin_api("gateway", data_dir=data_dir) as gateway, display.working("asking the gateway"):
        rows = gateway.get("/admin/clients")["items"]
    table = Table("client id", "kind", "partner", "channel", "tier", "enabled", "scopes")
    for c in rows:
        table.add_row(
            c["client_id"],
            c["kind"],
            c["partner_id"] or "-",
            c["channel"] or "-",
            c["tier"],
            "yes" if c["enabled"] else "no",
            " ".join(c["scopes"]),
        )
    console.print(table)


@app.command("disable")
def disable(client_id: str, data_dir: DataDir = Path("var")) -> None:
    """Stop a client from getting new tokens; the gateway and every service refuse the ones it has
    within seconds."""
    with admin_api("gateway", data_dir=data_dir) as gateway, display.working("asking the gateway"):
        gateway.call("PATCH", "/admin/clients", json={"client_id": client_id, "enabled": False})
    console.print(f"{client_id} disabled", markup=False, highlight=False)


@app.command("enable")
def enable(client_id: str, data_dir: DataDir = Path("var")) -> None:
    """Let a disabled client get tokens again; its unexpired tokens are accepted again."""
    with admin_api("gateway", data_dir=data_dir) as gateway, display.working("asking the gateway"):
        gateway.call("PATCH", "/admin/clients", json={"client_id": client_id, "enabled": True})
    console.print(f"{client_id} enabled", markup=False, highlight=False)


@app.command("rotate-secret")
def rotate_secret(client_id: str, data_dir: DataDir = Path("var")) -> None:
    """Issue a new secret (shown once); the old one stops working."""
    with admin_api("gateway", data_dir=data_dir) as gateway, display.working("asking the gateway"):
        answer = gateway.post("/admin/client-secrets", json={"client_id": client_id})
    _show_secret(answer)


@app.command("bootstrap")
def bootstrap(
    client_id: Annotated[str, typer.Option(help="The operator client's id.")] = "ops-admin",
    data_dir: DataDir = Path("var"),
) -> None:
    """Register the first operator client (internal, scopes ops, orders:admin, inventory:read and
    inventory:write) directly in the gateway's database: run it beside the gateway, like
    migrations, because no token exists yet to call the admin API with. Its secret is shown once;
    give it to the CLI as INTERCHANGE_OPS_CLIENT_ID / INTERCHANGE_OPS_CLIENT_SECRET."""
    from gateway.clients import create_client
    from interchange.bootstrap import OPS_CLI
    from interchange.commands.keys import with_gateway_db

    new_id, secret = with_gateway_db(
        data_dir,
        lambda db, _: create_client(
            db, client_id=client_id, kind=OPS_CLI.kind, scopes=list(OPS_CLI.scopes), tier=OPS_CLI.tier
        ),
        create=True,
    )
    _show_secret({"client_id": new_id, "client_secret": secret})
