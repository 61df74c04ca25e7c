"""``interchange inventory ...``: availability per channel, and reconciliation with its drift table.

Both ask the inventory service over HTTP with an ops token (interchange.admin_client), never its
database: ``availability`` lists the channels (``GET /v1/channels``, the service's settings) and
asks each one's availability of the SKU; ``reconcile`` compares, and with ``--repair`` the
service's publisher sends the corrections at its next pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from interchange import display
from interchange.admin_client import DataDir
from interchange.explain import ExplainingGroup

app = typer.Typer(
    help="The inventory process: availability per channel, reconciliation.", no_args_is_help=True, cls=ExplainingGroup
)
console = Console(soft_wrap=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command()
def reconcile(
    repair: Annotated[
        bool, typer.Option("--repair", help="Correct the projection and republish what drifted.")
    ] = False,
    data_dir: DataDir = Path("var"),
    as_json: AsJson = False,
) -> None:
    """Compare what every channel was told with the true availability from the WMS's stock now.

    Asks the inventory service (``POST /v1/reconciliations``, scope ``inventory:write``) with an
    ops token (interchange.admin_client); exit code 1 when drift was found and not repaired."""
    from interchange.admin_client import admin_api

    with (
        admin_api("inventory", data_dir=data_dir) as inventory,
        display.working("the inventory service is comparing the WMS's stock with what each channel was told"),
    ):
        report: dict[str, Any] = inventory.post("/v1/reconciliations", json={"repair": repair})
    drift = report["drift"]
    if as_json:
        console.print_json(data=report)
        raise typer.Exit(1 if drift and not repair else 0)
    table = Table(title=f"Drift: {len(drift)} of {report['skus']} SKUs x {report['channels']} channels")
    for column in ("sku", "channel", "told", "true", "since", "pending"):
        table.add_column(column, justify="right" if column in ("told", "true") else "left")
    for d in drift:
        since = (d.get("since") or "-")[:19]
        table.add_row(
            d["sku"], d["channel"], str(d["told"]), str(d["true"]), since, "yes" if d.get("publication_pending") else ""
        )
    console.print(table)
    if repair:
        console.print(
            f"repaired: {report.get('positions_corrected', 0)} position(s) corrected; drifting values republished"
        )
    raise typer.Exit(1 if drift and not repair else 0)


@app.command()
def availability(
    sku: Annotated[str, typer.Argument(help="The canonical SKU.")],
    data_dir: DataDir = Path("var"),
    as_json: AsJson = False,
) -> None:
    """What each channel may sell of SKU now (from the projection), and what it was last told.

    Asks the inventory service (``GET /v1/channels``, then ``GET /v1/availability`` per channel,
    scope ``inventory:read``) with an ops token (interchange.admin_client)."""
    from interchange.admin_client import admin_api

    rows: list[dict[str, Any]] = []
    with admin_api("inventory", data_dir=data_dir) as inventory, display.working("asking the inventory service"):
        for channel in inventory.get("/v1/channels")["items"]:
            # A SKU with no known stock is left out of the list (where the one-SKU read is a 404).
            rows += inventory.get("/v1/availability", params={"sku": sku, "channel": channel["channel"]})["items"]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table(title=f"Availability of {sku}")
    for column in ("channel", "available", "told", "told at", "pending"):
        table.add_column(column)
    for r in rows:
        told_at = r["told_at"][:19] if r.get("told_at") else "-"
        told = r["told"]["value"] if r.get("told") else "-"
        table.add_row(
            r["channel"], r["available"]["value"], told, told_at, "yes" if r.get("publication_pending") else ""
        )
    console.print(table)
    if not rows:
        console.print(f"no stock of {sku} is known")
