"""``/admin/clients`` and ``/admin/keys`` serve operators only, and ``interchange clients ...`` and
``interchange keys ...`` manage the gateway's clients and signing keys through them with an ops
token (never the gateway's database): a secret is shown once, a mistake is one line."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog.testing

from gateway import admin_clients
from interchange import admin_client
from tests.support.logs import fresh_logger
from tests.unit.gateway.conftest import Gateway
from tests.unit.interchange.admin_support import LoopBridge
from tests.unit.interchange.cli_support import isolate, one_line, run


async def operator(gateway: Gateway) -> dict[str, str]:
    client_id, secret = await gateway.register(client_id="ops-cli", kind="internal", scopes=["ops"])
    return {"INTERCHANGE_OPS_CLIENT_ID": client_id, "INTERCHANGE_OPS_CLIENT_SECRET": secret}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/admin/clients", None),
        ("POST", "/admin/clients", {"kind": "internal", "scopes": ["ops"]}),
        ("POST", "/admin/clients", {"nonsense": True}),  # not even the body is looked at
        ("PATCH", "/admin/clients", {"client_id": "acme-market", "enabled": False}),
        ("POST", "/admin/client-secrets", {"client_id": "acme-market"}),
        ("GET", "/admin/keys", None),
        ("POST", "/admin/keys", None),
    ],
)
async def test_anyone_but_an_operator_finds_nothing_there(
    gateway: Gateway, method: str, path: str, body: dict[str, Any] | None
) -> None:
    partner = await gateway.partner_bearer()
    service_id, service_secret = await gateway.register(client_id="svc-x", kind="service", scopes=["ops"])
    service = {"Authorization": f"Bearer {await gateway.token(service_id, service_secret)}"}

    answers = [await gateway.client.request(method, path, json=body, headers=h) for h in (partner, service, {})]

    for resp in answers:
        assert resp.status_code == 404, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["detail"] == f"There is nothing at {path}."


async def test_a_new_secret_is_answered_once_and_not_cached(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_logger(monkeypatch, admin_clients)
    creds = await operator(gateway)
    token = await gateway.token(creds["INTERCHANGE_OPS_CLIENT_ID"], creds["INTERCHANGE_OPS_CLIENT_SECRET"])
    ops = {"Authorization": f"Bearer {token}"}

    with structlog.testing.capture_logs() as logs:
        created = await gateway.client.post(
            "/admin/clients", json={"kind": "internal", "scopes": ["orders:read"], "tier": "internal"}, headers=ops
        )
    listed = await gateway.client.get("/admin/clients", headers=ops)

    assert created.status_code == 201 and created.headers["cache-control"] == "no-store"
    new = created.json()
    (registered,) = [entry for entry in logs if entry["event"] == "client_registered"]
    assert registered["client_id"] == new["client_id"] and registered["by"] == "ops-cli"  # who, for the record
    assert new["client_secret"] not in repr(logs)  # the secret is never logged
    assert await gateway.token(new["client_id"], new["client_secret"])  # the secret works
    assert "client_secret" not in listed.text and "secret_hash" not in listed.text


@pytest.fixture
async def cli(gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    isolate(monkeypatch)
    creds = await operator(gateway)
    routes = {"gateway.test": httpx.ASGITransport(app=gateway.app)}
    monkeypatch.setattr(admin_client, "transport", LoopBridge(asyncio.get_running_loop(), routes))
    env = {"INTERCHANGE_GATEWAY_URL": "http://gateway.test", "COLUMNS": "250", **creds}

    async def invoke(*args: str) -> Any:
        return await asyncio.to_thread(run, tmp_path / "var", *args, env=env)

    return invoke


def secret_of(result: Any) -> tuple[str, str]:
    found = re.search(r"client_id=(\S+)\nclient_secret=(\S+)", result.stdout)
    assert found, result.output
    return found.group(1), found.group(2)


def enabled_column(result: Any, client_id: str) -> str:
    (row,) = [line for line in result.stdout.splitlines() if f" {client_id} " in line]
    return row.split("│")[6].strip()


async def test_the_cli_creates_disables_enables_and_rotates_a_client(
    gateway: Gateway, cli: Any, tmp_path: Path
) -> None:
    created = await cli("clients", "create", "--kind", "internal", "--client-id", "ops-1", "--scope", "orders:read")
    client_id, first = secret_of(created)
    disabled = await cli("clients", "disable", "ops-1")
    listed_disabled = await cli("clients", "list")
    enabled = await cli("clients", "enable", "ops-1")
    listed_enabled = await cli("clients", "list")
    rotated = await cli("clients", "rotate-secret", "ops-1")
    _, second = secret_of(rotated)

    assert created.exit_code == 0 and client_id == "ops-1"
    assert disabled.exit_code == 0 and "ops-1 disabled" in disabled.stdout
    assert enabled_column(listed_disabled, "ops-1") == "no"
    assert enabled.exit_code == 0 and enabled_column(listed_enabled, "ops-1") == "yes"
    assert second != first
    assert await gateway.token("ops-1", second)
    old = await gateway.client.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=("ops-1", first))
    assert old.status_code == 401
    assert not (tmp_path / "var").exists()  # the CLI created no database (nor its data directory)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["clients", "disable", "nobody"], "error: No client 'nobody'."),
        (["clients", "enable", "nobody"], "error: No client 'nobody'."),
        (["clients", "rotate-secret", "nobody"], "error: No client 'nobody'."),
        (["clients", "create", "--client-id", "ops-cli", "--kind", "internal", "--scope", "ops"],
         "error: A client 'ops-cli' already exists."),
        (["clients", "create", "--kind", "internal", "--scope", "ops", "--tier", "gold"],
         "error: Unknown rate tier 'gold'; valid: internal, standard (INTERCHANGE_GATEWAY_RATE_LIMITS)."),
        (["clients", "create", "--kind", "partner", "--scope", "ops"],
         "error: The client cannot be registered: partner_id: required for a partner client"),
    ],
)  # fmt: skip
async def test_a_mistake_is_the_gateways_one_line(cli: Any, args: list[str], line: str) -> None:
    result = await cli(*args)

    assert result.exit_code == 1
    assert one_line(result).startswith(line)


async def test_the_cli_lists_and_rotates_the_signing_keys(cli: Any) -> None:
    before = await cli("keys", "list")
    rotated = await cli("keys", "rotate")

    assert before.exit_code == 0 and "signing" in before.stdout
    assert rotated.exit_code == 0, rotated.output
    (upcoming,) = [line for line in rotated.stdout.splitlines() if "│ next" in line]
    kid = upcoming.split("│")[1].strip()
    assert f"{kid} is published now and signs from" in rotated.stdout
    assert kid not in before.stdout
