"""``interchange orders ...``: the orders process's exception queue, replays and timelines.

``timeline`` takes any reference to an order: its id (``ord_...``), the channel's order id
(``PO-1``, or ``marketplace:PO-1`` when channels share ids), the ERP sales order number or the
correlation id of the request that placed it.

Works on the orders database directly (``--data-dir``, or ``INTERCHANGE_ORDERS_DATABASE_URL``),
through the same service functions as the internal API, so a replay from here is audited the
same way (the actor is ``cli:<login>``). The running orders service picks a replayed order up at
its next poll (``INTERCHANGE_ORDERS_WORKER_POLL_INTERVAL``, 5 s by default).
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from interchange import display
from interchange.explain import CommandFailed, ExplainingGroup, require_database

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(
    help="The orders process: exception queue, replay, timeline.", no_args_is_help=True, cls=ExplainingGroup
)
console = Console(soft_wrap=True)
T = TypeVar("T")

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="INTERCHANGE_DATA_DIR", help="Where the orders database lives.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _run(data_dir: Path, action: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from process_apis.orders.models import Base
    from process_apis.orders.settings import OrdersSettings
    from service_kit.db import Database

    async def main() -> T:
        settings = OrdersSettings.load("orders", data_dir=data_dir)
        require_database(settings.database_url, service="orders")
        db = Database(settings.database_url, metadata=[Base.metadata])
        try:
            await db.create_schema()
            async with db.transaction() as session:
                return await action(session)
        finally:
            await db.dispose()

    with display.working("reading the orders database"):
        return asyncio.run(main())


@app.command("replay")
def replay(
    order_id: Annotated[str, typer.Argument(help="The parked order (ord_...).")],
    note: Annotated[str | None, typer.Option(help="Why, for the audit.")] = None,
    actor: Annotated[str | None, typer.Option(help="Who (default: cli:<your login>).")] = None,
    as_json: AsJson = False,
    data_dir: DataDir = Path("var"),
) -> None:
    """Replay a parked order from the step that failed (audited)."""
    from process_apis.orders import admin

    who = actor or f"cli:{getpass.getuser()}"
    done = _run(data_dir, lambda s: admin.replay_order(session=s, order_id=order_id, actor=who, note=note))
    if as_json:
        console.print_json(done.model_dump_json())
    else:
        console.print(f"replay {done.id}: {done.order_id} from {done.step} by {done.actor} ({done.outcome.value})")


@app.command("exceptions")
def exceptions(
    step: Annotated[str | None, typer.Option(help="Only orders that failed at this step.")] = None,
    kind: Annotated[str | None, typer.Option(help="technical or credit_review.")] = None,
    reason: Annotated[str | None, typer.Option(help="Text in the reason or error.")] = None,
    older_than_minutes: Annotated[float | None, typer.Option(help="Parked at least this long ago.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    as_json: AsJson = False,
    data_dir: DataDir = Path("var"),
) -> None:
    """The exception queue: orders on hold for a person, oldest first."""
    from datetime import timedelta

    from process_apis.orders import admin
    from process_apis.orders.models import HoldKind

    if kind is not None and kind not in set(HoldKind):
        raise typer.BadParameter(f"{kind!r} is not one of {', '.join(HoldKind)}", param_hint="--kind")
    queue = _run(
        data_dir,
        lambda s: admin.exception_queue(
            session=s,
            step=step,
            hold_kind=HoldKind(kind) if kind else None,
            reason=reason,
            older_than=timedelta(minutes=older_than_minutes) if older_than_minutes is not None else None,
            newer_than=None,
            limit=limit,
            offset=0,
        ),
    )
    if as_json:
        console.print_json(queue.model_dump_json())
        return
    table = Table("order", "channel order", "kind", "failed step", "age (min)", "reason")
    for item in queue.items:
        table.add_row(
            item.order_id,
            f"{item.channel}:{item.channel_order_id}",
            item.hold_kind or "-",
            item.failed_step or "-",
            f"{item.age_seconds / 60:.1f}",
            (item.reason or "")[:80],
        )
    console.print(table)


@app.command("timeline")
def timeline(
    reference: Annotated[
        str,
        typer.Argument(
            help="The order's id (ord_...), channel order id ([channel:]id), ERP sales order number or correlation id."
        ),
    ],
    data_dir: DataDir = Path("var"),
) -> None:
    """An order's status history, saga steps, replays and events, as JSON."""
    from process_apis.orders import admin

    async def action(session: AsyncSession) -> Any:
        return await admin.timeline(session=session, order_id=await find_order_id(session=session, reference=reference))

    data: dict[str, Any] = json.loads(_run(data_dir, action).model_dump_json())
    console.print_json(data=data)


async def find_order_id(*, session: AsyncSession, reference: str) -> str:
    """The id of the one order that ``reference`` names; CommandFailed for none or several.

    The query is here, not in the orders service, only while the CLI reads the orders database
    directly; it moves behind the orders admin API with the rest of this module (issue 14)."""
    from sqlalchemy import and_, or_, select

    from process_apis.orders.models import OrderRow

    named = [
        OrderRow.id == reference,
        OrderRow.channel_order_id == reference,
        OrderRow.erp_order_number == reference,
        OrderRow.correlation_id == reference,
    ]
    channel, colon, channel_order_id = reference.partition(":")
    if colon:
        named.append(and_(OrderRow.channel == channel, OrderRow.channel_order_id == channel_order_id))
    query = select(OrderRow.id, OrderRow.channel, OrderRow.channel_order_id).where(or_(*named)).limit(11)
    found = (await session.execute(query)).all()
    if not found:
        raise CommandFailed(
            f"no order {reference!r}: not an order id, channel order id, ERP sales order number or correlation id"
        )
    if len(found) > 1:
        listed = ", ".join(f"{row.id} ({row.channel}:{row.channel_order_id})" for row in found[:10])
        more = ", ..." if len(found) > 10 else ""
        raise CommandFailed(f"{reference!r} names several orders; give one of their ids: {listed}{more}")
    return str(found[0].id)
