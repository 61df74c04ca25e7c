"""``interchange events dead-letters`` and ``interchange events replay`` go through a service's
admin routes (service_kit/events/admin_routes.py) with an ops token, on the embedded log: the CLI
never opens the bus; only an internal client's ``ops`` token may read or replay."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from structlog.testing import capture_logs

from interchange import admin_client
from service_kit.app import create_service_app
from service_kit.events import admin_routes, open_bus
from service_kit.events.admin_routes import router
from service_kit.settings import ServiceSettings
from tests.support.logs import fresh_logger
from tests.support.tokens import bearer, mint_token, static_verifier
from tests.unit.interchange.admin_support import LoopBridge, token_endpoint
from tests.unit.interchange.cli_support import isolate, one_line, run
from tests.unit.service_kit.events.event_helpers import stock_event

ENV = {
    "INTERCHANGE_INVENTORY_URL": "http://inventory.test",
    "INTERCHANGE_GATEWAY_URL": "http://gateway.test",
    "INTERCHANGE_OPS_CLIENT_ID": "ops-cli",
    "INTERCHANGE_OPS_CLIENT_SECRET": "s3cret",
    "COLUMNS": "200",
}
PATH = "/v1/admin/events/dead-letters"


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


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[FastAPI]:
    data_dir = tmp_path / "service"
    data_dir.mkdir()
    settings = ServiceSettings.load("inventory", data_dir=data_dir, log_json=False, events_url="")
    app = create_service_app(settings, title="kit", description="kit", routers=[router], verifier=static_verifier())
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def cli(service: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    isolate(monkeypatch)

    def mint(client_id: str, secret: str) -> str | None:
        return mint_token("ops", client_id=client_id, kind="internal") if secret == "s3cret" else None

    routes = {"inventory.test": httpx.ASGITransport(app=service), "gateway.test": token_endpoint(mint)}
    monkeypatch.setattr(admin_client, "transport", LoopBridge(asyncio.get_running_loop(), routes))

    async def invoke(*args: str) -> Any:
        return await asyncio.to_thread(run, tmp_path / "var", *args, "--via", "inventory", env=ENV)

    return invoke


async def test_dead_letters_are_listed_and_replayed_from_the_command_line(
    service: FastAPI, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_logger(monkeypatch, admin_routes)
    event_id = await park_one(tmp_path / "service")

    listed = await cli("events", "dead-letters", "--json")
    assert listed.exit_code == 0, listed.output
    (letter,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert letter["group"] == "inventory" and letter["event"]["id"] == event_id
    assert letter["deliveries"] == 2 and letter["error"] == "KeyError: 'warehouse'"

    table = await cli("events", "dead-letters", "--group", "inventory")
    assert table.exit_code == 0 and "KeyError" in table.stdout

    with capture_logs() as logged:
        replayed = await cli("events", "replay", letter["id"], "--reason", "warehouse mapped")
    assert replayed.exit_code == 0, replayed.output
    (audit,) = [line for line in logged if line["event"] == "event_dead_letter_replayed"]
    assert (audit["operator"], audit["reason"], audit["event_id"]) == ("ops-cli", "warehouse mapped", event_id)
    assert f"replayed {letter['id']}" in replayed.stdout and "to group inventory" in replayed.stdout

    assert "no dead letters" in (await cli("events", "dead-letters")).stdout
    again = await cli("events", "replay", letter["id"])
    assert again.exit_code == 1 and f"There is no dead letter {letter['id']!r}" in one_line(again)
    assert not (tmp_path / "var").exists()  # the CLI opened no bus and created nothing

    bus = open_bus(url=f"sqlite:///{tmp_path / 'service' / 'events.db'}")
    try:
        redelivered = [d.event.id for d in await bus.receive(group="inventory", consumer="c2", max_messages=10)]
    finally:
        await bus.close()
    assert event_id in redelivered


@pytest.mark.parametrize(
    "headers",
    [
        lambda: bearer("inventory:write", client_id="ops-cli", kind="internal"),  # no ops scope
        lambda: bearer("ops", client_id="acme-market", partner_id="acme-market", kind="partner"),  # not internal
        lambda: {},
    ],
)
async def test_only_an_operator_reads_or_replays(service: FastAPI, headers: Any) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service), base_url="http://inventory.test") as c:
        listed = await c.get(PATH, headers=headers())
        replayed = await c.post("/v1/admin/events/replays", json={"dead_letter_id": "1:inventory"}, headers=headers())

    for resp in (listed, replayed):
        assert resp.status_code in (401, 403), resp.text
        assert resp.headers["content-type"] == "application/problem+json"


def test_via_names_a_service_with_the_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch)

    result = run(tmp_path, "events", "dead-letters", "--via", "erp")

    assert result.exit_code == 2 and "not one of orders, inventory, marketplace, storefront" in one_line(result)
