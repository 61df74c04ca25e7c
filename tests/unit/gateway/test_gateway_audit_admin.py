"""``GET /admin/audit`` serves the audit log to operators only, and ``interchange audit`` reads
it there with an ops token (never the gateway's database): filters, --json, a bad status as one
line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from interchange import admin_client
from tests.unit.gateway.conftest import FakeService, Gateway
from tests.unit.interchange.admin_support import LoopBridge
from tests.unit.interchange.cli_support import isolate, one_line, run


async def seed(gateway: Gateway, marketplace: FakeService) -> tuple[dict[str, str], dict[str, str]]:
    """Three proxied calls (200, then two 404s), a partner's token and an operator's credentials."""
    auth = await gateway.partner_bearer()
    for cid, status in (("cid-1", 200), ("cid-2", 404), ("cid-3", 404)):
        marketplace.status = status
        await gateway.client.get(f"/marketplace/v1/orders/{cid}", headers={**auth, "x-correlation-id": cid})
    await gateway.app.state.audit.flush()
    client_id, secret = await gateway.register(client_id="ops-cli", kind="internal", scopes=["ops"])
    return auth, {"INTERCHANGE_OPS_CLIENT_ID": client_id, "INTERCHANGE_OPS_CLIENT_SECRET": secret}


async def test_only_an_operator_reads_the_audit_log(gateway: Gateway, marketplace: FakeService) -> None:
    auth, creds = await seed(gateway, marketplace)
    token = await gateway.token(creds["INTERCHANGE_OPS_CLIENT_ID"], creds["INTERCHANGE_OPS_CLIENT_SECRET"])
    ops = {"Authorization": f"Bearer {token}"}

    partner = await gateway.client.get("/admin/audit", headers=auth)
    listed = await gateway.client.get("/admin/audit", params={"status": "4xx"}, headers=ops)
    bad = await gateway.client.get("/admin/audit", params={"status": "4x"}, headers=ops)

    assert partner.status_code == 404 and partner.headers["content-type"] == "application/problem+json"
    assert listed.status_code == 200
    assert [c["correlation_id"] for c in listed.json()["items"]] == ["cid-3", "cid-2"]
    assert bad.status_code == 422 and "not '4x'" in bad.json()["detail"]


@pytest.fixture
async def cli(gateway: Gateway, marketplace: FakeService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    isolate(monkeypatch)
    _, creds = await seed(gateway, marketplace)
    routes = {"gateway.test": httpx.ASGITransport(app=gateway.app)}
    monkeypatch.setattr(admin_client, "transport", LoopBridge(asyncio.get_running_loop(), routes))
    env = {"INTERCHANGE_GATEWAY_URL": "http://gateway.test", "COLUMNS": "200", **creds}

    async def invoke(*args: str) -> Any:
        return await asyncio.to_thread(run, tmp_path / "var", *args, env=env)

    return invoke


async def test_the_cli_lists_the_log_as_a_table_or_json(cli: Any) -> None:
    table = await cli("audit", "--status", "4xx", "--partner", "acme-market")
    as_json = await cli("audit", "--json", "--limit", "2")
    bad = await cli("audit", "--status", "teapot")

    assert table.exit_code == 0, table.output
    assert "cid-2" in table.stdout and "cid-3" in table.stdout and "cid-1" not in table.stdout
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(r["status"], r["correlation_id"]) for r in records] == [(404, "cid-3"), (404, "cid-2")]
    assert records[0]["at"].endswith("+00:00")
    assert bad.exit_code == 2 and "not 'teapot'" in one_line(bad)
