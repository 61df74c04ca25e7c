"""``interchange events ...``: the event bus's dead letters, listed and replayed through a
service's admin API (``/v1/admin/events``, service_kit/events/admin_routes.py, scope ``ops``) with
an ops token (interchange.admin_client): the CLI never opens the bus itself. Every service of a
deployment shares one bus, so asking one (``--via``, default the orders service) shows every
consumer group's dead letters.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from interchange import display
from interchange.admin_client import DataDir, admin_api
from interchange.explain import ExplainingGroup

app = typer.Typer(help="The event bus: dead letters and their replay.", no_args_is_help=True, cls=ExplainingGroup)
console = Console()

#: The services that mount the bus's admin routes (they consume events).
BUS_SERVICES = ("orders", "inventory", "marketplace", "storefront")

Via = Annotated[
    str,
    typer.Option("--via", help=f"The service to ask, one of {', '.join(BUS_SERVICES)} (they share the bus)."),
]


def _check_via(via: str) -> None:
    if via not in BUS_SERVICES:
        raise typer.BadParameter(f"not one of {', '.join(BUS_SERVICES)}", param_hint="--via")


@app.command("dead-letters")
def dead_letters(
    group: Annotated[str | None, typer.Option(help="Only this consumer group's.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many, oldest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    via: Via = "orders",
    data_dir: DataDir = Path("var"),
) -> None:
    """List the messages parked after too many failed deliveries, with their last error."""
    _check_via(via)
    with admin_api(via, data_dir=data_dir) as service, display.working("reading the dead letters"):
        letters: list[dict[str, Any]] = service.get(
            "/v1/admin/events/dead-letters", params={"group": group, "limit": limit}
        )["items"]
    if as_json:
        for letter in letters:
            typer.echo(json.dumps(letter))
        return
    if not letters:
        console.print("no dead letters")
        return
    table = Table("id", "group", "type", "subject", "event id", "deliveries", "parked at", "last error")
    for letter in letters:
        event = letter["event"]
        table.add_row(
            letter["id"],
            letter["group"],
            event["type"],
            event.get("subject") or "-",
            event["id"],
            str(letter["deliveries"]),
            datetime.fromisoformat(letter["dead_at"]).strftime("%Y-%m-%d %H:%M:%S"),
            letter["error"][:120],
        )
    console.print(table)


@app.command("replay")
def replay(
    dead_letter_id: Annotated[str, typer.Argument(help="The id shown by `interchange events dead-letters`.")],
    reason: Annotated[
        str | None, typer.Option(help="Why it is replayed: logged with your client id as the audit.")
    ] = None,
    via: Via = "orders",
    data_dir: DataDir = Path("var"),
) -> None:
    """Hand a dead letter back to its consumer group (only that group), with a fresh delivery count."""
    _check_via(via)
    body = {"dead_letter_id": dead_letter_id} | ({"reason": reason} if reason else {})
    with admin_api(via, data_dir=data_dir) as service, display.working("replaying"):
        letter = service.post("/v1/admin/events/replays", json=body)
    console.print(
        f"replayed {letter['id']}: {letter['event']['type']} {letter['event']['id']} to group {letter['group']}",
        markup=False,
        highlight=False,
    )
