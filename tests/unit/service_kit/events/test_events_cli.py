"""``interchange events dead-letters`` and ``interchange events replay`` on the embedded log."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from interchange.cli import app
from service_kit.events import open_bus
from service_kit.settings import ServiceSettings
from tests.unit.service_kit.events.event_helpers import stock_event


async def park_one(data_dir: Path) -> str:
    """A message the "inventory" group failed on twice (max_deliveries=2 for this bus)."""
    bus = open_bus(url=f"sqlite:///{data_dir / 'events.db'}?max_deliveries=2")
    try:
        event = stock_event(1)
        await bus.publish(events=[event, stock_event(2)])
        for _ in range(2):
            (delivery, *_) = await bus.receive(group="inventory", consumer="c", max_messages=1)
            await bus.nack(delivery=delivery, error="KeyError: 'warehouse'")
        return event.id
    finally:
        await bus.close()


def test_dead_letters_are_listed_and_replayed_from_the_command_line(tmp_path: Path) -> None:
    event_id = asyncio.run(park_one(tmp_path))
    runner = CliRunner()
    env = {"INTERCHANGE_DATA_DIR": str(tmp_path), "INTERCHANGE_EVENTS_URL": "", "COLUMNS": "200"}

    listed = runner.invoke(app, ["events", "dead-letters", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    (letter,) = [json.loads(line) for line in listed.output.splitlines()]
    assert letter["group"] == "inventory" and letter["event"]["id"] == event_id
    assert letter["deliveries"] == 2 and letter["error"] == "KeyError: 'warehouse'"

    table = runner.invoke(app, ["events", "dead-letters", "--group", "inventory"], env=env)
    assert table.exit_code == 0 and "KeyError" in table.output

    replayed = runner.invoke(app, ["events", "replay", letter["id"]], env=env)
    assert replayed.exit_code == 0, replayed.output
    assert f"replayed {letter['id']}" in replayed.output and "to group inventory" in replayed.output

    assert "no dead letters" in runner.invoke(app, ["events", "dead-letters"], env=env).output
    again = runner.invoke(app, ["events", "replay", letter["id"]], env=env)
    assert again.exit_code == 1 and "no dead letter" in again.output

    async def redelivered() -> list[str]:
        bus = open_bus(settings=ServiceSettings.load("inventory", data_dir=tmp_path))
        try:
            return [d.event.id for d in await bus.receive(group="inventory", consumer="c2", max_messages=10)]
        finally:
            await bus.close()

    assert event_id in asyncio.run(redelivered())
