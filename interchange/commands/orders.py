"""``interchange orders ...``: the orders process's exception queue, replays and timelines.

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
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(help="The orders process: exception queue, replay, timeline.", no_args_is_help=True)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="INTERCHANGE_DATA_DIR", help="Where the orders database lives.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _run(data_dir: Path, action: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from process_apis.orders import schema
    from process_apis.orders.models import Base
    from process_apis.orders.settings import OrdersSettings
    from service_kit.db import Database

    async def main() -> T:
        settings = OrdersSettings.load("orders", data_dir=data_dir)
        db = Database(settings.database_url, metadata=[Base.metadata])
        try:
            await db.create_schema()
            await schema.upgrade(db)
            async with db.transaction() as session:
                return await action(session)
        finally:
            await db.dispose()

    return asyncio.run(main())


def _fail(exc: Exception) -> typer.Exit:
    detail = getattr(exc, "detail", None) or str(exc)
    err.print(f"[red]{detail}[/]", highlight=False)
    return typer.Exit(1)


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
    from service_kit.errors import InterchangeError

    who = actor or f"cli:{getpass.getuser()}"
    try:
        done = _run(data_dir, lambda s: admin.replay_order(session=s, order_id=order_id, actor=who, note=note))
    except InterchangeError as exc:
        raise _fail(exc) from None
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
    order_id: Annotated[str, typer.Argument(help="The order (ord_...).")],
    data_dir: DataDir = Path("var"),
) -> None:
    """An order's status history, saga steps, replays and events, as JSON."""
    from process_apis.orders import admin
    from service_kit.errors import InterchangeError

    try:
        found = _run(data_dir, lambda s: admin.timeline(session=s, order_id=order_id))
    except InterchangeError as exc:
        raise _fail(exc) from None
    data: dict[str, Any] = json.loads(found.model_dump_json())
    console.print_json(data=data)
