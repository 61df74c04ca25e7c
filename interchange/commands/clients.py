"""``interchange clients ...``: the OAuth clients in the gateway's database (gateway/clients.py).

interchange clients create --kind partner --partner-id acme-market --channel marketplace \\
    --scope marketplace:orders.write --tier standard
interchange clients disable acme-market-1a2b3c4d
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from interchange.commands.keys import DataDir, with_gateway_db
from interchange.explain import ExplainingGroup

app = typer.Typer(help="OAuth clients in the gateway's database.", no_args_is_help=True, cls=ExplainingGroup)
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


def _check_tier(tier: str, known: list[str]) -> None:
    if tier not in known:
        raise typer.BadParameter(
            f"unknown rate tier {tier!r}; valid: {', '.join(sorted(known))} (INTERCHANGE_GATEWAY_RATE_LIMITS)",
            param_hint="--tier",
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
    """Register a client; its secret is shown once."""
    from gateway.clients import create_client
    from gateway.settings import GatewaySettings

    _check_scopes(scope)
    _check_tier(tier, list(GatewaySettings.load("gateway", data_dir=data_dir).rate_limits))
    new_id, secret = with_gateway_db(
        data_dir,
        lambda db, _: create_client(
            db,
            client_id=client_id,
            kind=kind.value,
            partner_id=partner_id,
            channel=channel,
            scopes=scope,
            tier=tier,
        ),
        create=True,
    )
    console.print(f"client_id={new_id}\nclient_secret={secret}\n(the secret is not stored in clear; keep it now)")


@app.command("list")
def list_(data_dir: DataDir = Path("var")) -> None:
    """Show every client (never its secret)."""
    from gateway.clients import list_clients

    rows = with_gateway_db(data_dir, lambda db, _: list_clients(db))
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


@app.command("disable")
def disable(client_id: str, data_dir: DataDir = Path("var")) -> None:
    """Stop a client from getting new tokens; the gateway and every service refuse the ones it has
    within seconds."""
    from gateway.clients import disable_client

    with_gateway_db(data_dir, lambda db, _: disable_client(db, client_id))
    console.print(f"{client_id} disabled")


@app.command("enable")
def enable(client_id: str, data_dir: DataDir = Path("var")) -> None:
    """Let a disabled client get tokens again; its unexpired tokens are accepted again."""
    from gateway.clients import enable_client

    with_gateway_db(data_dir, lambda db, _: enable_client(db, client_id))
    console.print(f"{client_id} enabled")


@app.command("rotate-secret")
def rotate_secret(client_id: str, data_dir: DataDir = Path("var")) -> None:
    """Issue a new secret (shown once); the old one stops working."""
    from gateway.clients import rotate_secret as rotate

    secret = with_gateway_db(data_dir, lambda db, _: rotate(db, client_id))
    console.print(f"client_id={client_id}\nclient_secret={secret}")
