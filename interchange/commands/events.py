"""``interchange events ...``: the event bus's dead letters, listed and replayed.

The bus is the one the services use: ``--url`` / ``INTERCHANGE_EVENTS_URL`` when given, else the
embedded log under ``--data-dir`` (``<data_dir>/events.db``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from interchange import display
from interchange.explain import ExplainingGroup, require_database

if TYPE_CHECKING:
    from service_kit.events import DeadLetter, EventBus

app = typer.Typer(help="The event bus: dead letters and their replay.", no_args_is_help=True, cls=ExplainingGroup)
console = Console()

Url = Annotated[
    str | None,
    typer.Option("--url", envvar="INTERCHANGE_EVENTS_URL", help="sqlite:///<path> or redis://host:port/db"),
]
DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="INTERCHANGE_DATA_DIR", help="Where the embedded event log lives.")
]


def _bus(*, url: str | None, data_dir: Path) -> EventBus:
    from service_kit.events import open_bus
    from service_kit.events.factory import events_url
    from service_kit.settings import ServiceSettings

    settings = ServiceSettings.load("events", data_dir=data_dir)
    require_database(url or events_url(settings=settings), service="event log")
    return open_bus(settings=settings, url=url or None)


def _as_dict(letter: DeadLetter) -> dict[str, object]:
    return {
        "id": letter.id,
        "group": letter.group,
        "message_id": letter.message_id,
        "deliveries": letter.deliveries,
        "error": letter.error,
        "dead_at": letter.dead_at.isoformat(),
        "event": json.loads(letter.event.model_dump_json()),
    }


@app.command("dead-letters")
def dead_letters(
    group: Annotated[str | None, typer.Option(help="Only this consumer group's.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, oldest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    url: Url = None,
    data_dir: DataDir = Path("var"),
) -> None:
    """List the messages parked after too many failed deliveries, with their last error."""

    async def run() -> list[DeadLetter]:
        bus = _bus(url=url, data_dir=data_dir)
        try:
            return await bus.dead_letters(group=group, limit=limit)
        finally:
            await bus.close()

    with display.working("reading the dead letters"):
        letters = asyncio.run(run())
    if as_json:
        for letter in letters:
            typer.echo(json.dumps(_as_dict(letter)))
        return
    if not letters:
        console.print("no dead letters")
        return
    table = Table("id", "group", "type", "subject", "event id", "deliveries", "parked at", "last error")
    for letter in letters:
        table.add_row(
            letter.id,
            letter.group,
            letter.event.type,
            letter.event.subject or "-",
            letter.event.id,
            str(letter.deliveries),
            letter.dead_at.strftime("%Y-%m-%d %H:%M:%S"),
            letter.error[:120],
        )
    console.print(table)


@app.command("replay")
def replay(
    dead_letter_id: Annotated[str, typer.Argument(help="The id shown by `interchange events dead-letters`.")],
    url: Url = None,
    data_dir: DataDir = Path("var"),
) -> None:
    """Hand a dead letter back to its consumer group (only that group), with a fresh delivery count."""

    async def run() -> DeadLetter:
        bus = _bus(url=url, data_dir=data_dir)
        try:
            return await bus.replay(dead_letter_id=dead_letter_id)
        finally:
            await bus.close()

    with display.working("replaying"):
        letter = asyncio.run(run())
    console.print(
        f"replayed {letter.id}: {letter.event.type} {letter.event.id} to group {letter.group}",
        markup=False,
        highlight=False,
    )
