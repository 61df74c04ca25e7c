"""``interchange inventory reconcile`` asks the inventory service over HTTP with an ops token
(POST /v1/reconciliations), never its database: the drift table, --repair, --json, the exit code
that says drift was found, and a refusal as one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from interchange import admin_client
from tests.unit.interchange.cli_support import isolate, one_line, run

ENV = {
    "INTERCHANGE_INVENTORY_URL": "http://inventory.test",
    "INTERCHANGE_GATEWAY_URL": "http://gateway.test",
    "INTERCHANGE_OPS_CLIENT_ID": "ops-cli",
    "INTERCHANGE_OPS_CLIENT_SECRET": "s3cret",
}
DRIFT = {"sku": "WIDGET-BLUE", "channel": "marketplace", "told": 7, "true": 5, "since": "2026-12-01T09:00:00Z"}


class Inventory:
    """The inventory service's reconciliation endpoint, as the CLI sees it."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []
        self.answer: httpx.Response | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "gateway.test":
            return httpx.Response(200, json={"access_token": "ops-token", "token_type": "Bearer"})
        assert (request.method, request.url.path) == ("POST", "/v1/reconciliations")
        assert request.headers["authorization"] == "Bearer ops-token"
        body = json.loads(request.content)
        self.asked.append(body)
        if self.answer is not None:
            return self.answer
        report = {"checked_at": "2026-12-01T10:00:00Z", "skus": 3, "channels": 2, "drift": [DRIFT]}
        return httpx.Response(
            200, json=report | ({"positions_corrected": 1, "repaired": True} if body["repair"] else {})
        )


@pytest.fixture
def inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Inventory:
    isolate(monkeypatch)
    service = Inventory()
    monkeypatch.setattr(admin_client, "transport", httpx.MockTransport(service.handle))
    return service


def test_drift_is_a_table_and_exit_code_1(inventory: Inventory, tmp_path: Path) -> None:
    result = run(tmp_path, "inventory", "reconcile", env=ENV)

    assert result.exit_code == 1
    assert "Drift: 1 of 3 SKUs x 2 channels" in result.stdout
    assert "WIDGET-BLUE" in result.stdout and "2026-12-01T09:00:00" in result.stdout
    assert inventory.asked == [{"repair": False}]
    assert not list(tmp_path.iterdir())  # no database opened or created


def test_repair_says_what_it_corrected_and_exits_0(inventory: Inventory, tmp_path: Path) -> None:
    result = run(tmp_path, "inventory", "reconcile", "--repair", "--json", env=ENV)

    assert result.exit_code == 0
    assert json.loads(result.stdout)["positions_corrected"] == 1
    assert inventory.asked == [{"repair": True}]


def test_the_service_refusing_is_one_line(inventory: Inventory, tmp_path: Path) -> None:
    inventory.answer = httpx.Response(
        503,
        json={"status": 503, "detail": "The WMS could not be read; nothing was compared."},
        headers={"content-type": "application/problem+json"},
    )

    result = run(tmp_path, "inventory", "reconcile", env=ENV)

    assert result.exit_code == 1
    assert one_line(result) == "error: The WMS could not be read; nothing was compared."
