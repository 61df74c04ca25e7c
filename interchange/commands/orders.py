"""``interchange orders ...``: the orders process's exception queue, replays and timelines, through
its admin API (``/v1/admin``, scope ``orders:admin``) with an ops token: interchange.admin_client
says where the service is and who the CLI is.

``timeline`` takes any reference to an order: its id (``ord_...``), the channel's order id
(``PO-1``), the ERP sales order number or the correlation id of a request that touched it.

A replay is audited by the orders service under the ops client's id; the service's worker runs
the order again at once.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.console import Console
from rich.table import Table

from interchange import display
from interchange.admin_client import AdminClient, DataDir, admin_api
from interchange.explain import CommandFailed, ExplainingGroup

app = typer.Typer(
    help="The orders process: exception queue, replay, timeline.", no_args_is_help=True, cls=ExplainingGroup
)
console = Console(soft_wrap=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

#: The orders service's hold kinds (its exception queue's ``kind``).
HOLD_KINDS = ("technical", "credit_review")


@app.command("replay")
def replay(
    order_id: Annotated[str, typer.Argument(help="The parked order (ord_...).")],
    note: Annotated[str | None, typer.Option(help="Why, for the audit.")] = None,
    as_json: AsJson = False,
    data_dir: DataDir = Path("var"),
) -> None:
    """Replay a parked order from the step that failed (audited under the ops client's id)."""
    with admin_api("orders", data_dir=data_dir) as orders, display.working("asking the orders service"):
        done = orders.post(
            f"/v1/admin/orders/{quote(order_id, safe='')}/replay",
            json={"note": note},
            idempotency_key=f"cli-replay-{uuid.uuid4()}",
        )
    if as_json:
        console.print_json(data=done)
    else:
        console.print(
            f"replay {done['id']}: {done['order_id']} from {done['step']} by {done['actor']} ({done['outcome']})"
        )


@app.command("exceptions")
def exceptions(
    step: Annotated[str | None, typer.Option(help="Only orders that failed at this step.")] = None,
    kind: Annotated[str | None, typer.Option(help="technical or credit_review.")] = None,
    reason: Annotated[str | None, typer.Option(help="Text in the reason or error.")] = None,
    older_than_minutes: Annotated[float | None, typer.Option(help="Parked at least this long ago.", min=0)] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 100,
    as_json: AsJson = False,
    data_dir: DataDir = Path("var"),
) -> None:
    """The exception queue: orders on hold for a person, oldest first."""
    if kind is not None and kind not in HOLD_KINDS:
        raise typer.BadParameter(f"{kind!r} is not one of {', '.join(HOLD_KINDS)}", param_hint="--kind")
    params = {"step": step, "kind": kind, "reason": reason, "older_than_minutes": older_than_minutes, "limit": limit}
    with admin_api("orders", data_dir=data_dir) as orders, display.working("reading the exception queue"):
        queue = orders.get("/v1/admin/exceptions", params=params)
    if as_json:
        console.print_json(data=queue)
        return
    table = Table("order", "channel order", "kind", "failed step", "age (min)", "reason")
    for item in queue["items"]:
        table.add_row(
            item["order_id"],
            f"{item['channel']}:{item['channel_order_id']}",
            item.get("hold_kind") or "-",
            item.get("failed_step") or "-",
            f"{item['age_seconds'] / 60:.1f}",
            (item.get("reason") or "")[:80],
        )
    console.print(table)


@app.command("timeline")
def timeline(
    reference: Annotated[
        str,
        typer.Argument(help="The order's id (ord_...), channel order id, ERP sales order number or a correlation id."),
    ],
    data_dir: DataDir = Path("var"),
) -> None:
    """An order's status history, saga steps, replays and events, as JSON."""
    with admin_api("orders", data_dir=data_dir) as orders, display.working("reading the order's timeline"):
        order_id = find_order_id(_lookup(orders, reference))
        data = orders.get(f"/v1/admin/orders/{quote(order_id, safe='')}/timeline")
    console.print_json(data=data)


def _lookup(orders: AdminClient, reference: str) -> dict[str, Any]:
    """The orders ``reference`` names; ``channel:id`` (``storefront:PO-2``) picks one channel's order
    when channels share an order id."""
    matches: dict[str, Any] = orders.get("/v1/admin/orders/lookup", params={"reference": reference, "limit": 11})
    channel, colon, channel_order_id = reference.partition(":")
    if matches["items"] or not colon or not channel_order_id:
        return matches
    found = orders.get("/v1/admin/orders/lookup", params={"reference": channel_order_id, "limit": 11})
    items = [m for m in found["items"] if m["order"]["channel"] == channel]
    return {"reference": reference, "items": items}


def find_order_id(matches: dict[str, Any]) -> str:
    """The id of the one order a lookup found; CommandFailed for none or several."""
    reference, items = matches["reference"], matches["items"]
    if not items:
        raise CommandFailed(
            f"no order {reference!r}: not an order id, channel order id, ERP sales order number or correlation id"
        )
    if len(items) > 1:
        listed = ", ".join(
            f"{m['order']['id']} ({m['order']['channel']}:{m['order']['channel_order_id']})" for m in items[:10]
        )
        more = ", ..." if len(items) > 10 else ""
        raise CommandFailed(
            f"{reference!r} names several orders; give one of their ids or <channel>:{reference}: {listed}{more}"
        )
    return str(items[0]["order"]["id"])
