"""``interchange orders ...`` acts through the orders admin API over HTTP with an ops token (never
the orders database): the exception queue, an audited replay, a timeline by any reference; and
each way it can fail is one line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from interchange import admin_client
from process_apis.orders.app import create_app
from tests.support.tokens import mint_token, static_verifier
from tests.unit.interchange.admin_support import LoopBridge, token_endpoint
from tests.unit.interchange.cli_support import isolate, one_line, run
from tests.unit.process_apis.conftest import order_body, orders_settings
from tests.unit.process_apis.orders_fakes import ERP, FakeTier
from tests.unit.process_apis.saga_helpers import run_until_stopped

SECRET = "s3cret"
ENV = {
    "INTERCHANGE_ORDERS_URL": "http://orders.test",
    "INTERCHANGE_GATEWAY_URL": "http://gateway.test",
    "INTERCHANGE_OPS_CLIENT_ID": "ops-cli",
    "INTERCHANGE_OPS_CLIENT_SECRET": SECRET,
}


@dataclass
class Suite:
    app: FastAPI
    tier: FakeTier
    data_dir: Path
    scopes: list[str] = field(default_factory=lambda: ["orders:admin"])

    def mint(self, client_id: str, secret: str) -> str | None:
        if secret != SECRET:
            return None
        return mint_token(*self.scopes, client_id=client_id, kind="internal")

    async def cli(self, *args: str, env: dict[str, str] | None = None) -> Any:
        """``interchange <args>`` in a worker thread, while the app keeps serving on this loop."""
        return await asyncio.to_thread(run, self.data_dir, *args, env={**ENV, **(env or {})})

    async def submit(self, body: dict[str, Any], correlation_id: str | None = None) -> str:
        headers = {
            **({"X-Correlation-ID": correlation_id} if correlation_id else {}),
            "Authorization": f"Bearer {mint_token('orders:write', client_id='svc-marketplace')}",
            "X-Interchange-Partner": "acme-market",
            "Idempotency-Key": f"{body['channel']}:{body['channel_order_id']}",
        }
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://orders.test") as c:
            resp = await c.post("/v1/orders", json=body, headers=headers)
        assert resp.status_code == 202, resp.text
        return str(resp.json()["id"])

    async def status(self, order_id: str) -> str:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://orders.test") as c:
            resp = await c.get(
                f"/v1/orders/{order_id}", headers={"Authorization": f"Bearer {mint_token('orders:read')}"}
            )
        return str(resp.json()["status"])


@pytest.fixture
async def suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Suite]:
    isolate(monkeypatch)
    tier = FakeTier.demo()
    app = create_app(orders_settings(tmp_path / "orders"), transport=tier.transport(), verifier=static_verifier())
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    async with app.router.lifespan_context(app):
        suite = Suite(app=app, tier=tier, data_dir=data_dir)
        routes = {"orders.test": httpx.ASGITransport(app=app), "gateway.test": token_endpoint(suite.mint)}
        monkeypatch.setattr(admin_client, "transport", LoopBridge(asyncio.get_running_loop(), routes))
        yield suite


async def parked(suite: Suite, channel_order_id: str = "MP-7") -> str:
    order_id = await suite.submit(order_body(channel_order_id))
    suite.tier.fault(ERP, "POST", "/v1/sales-order-batches", *["503"] * 6)
    await run_until_stopped_app(suite)
    suite.tier.faults.clear()
    return order_id


async def run_until_stopped_app(suite: Suite) -> None:
    @dataclass
    class _Orders:  # what saga_helpers.run_until_stopped reads
        app: FastAPI

    await run_until_stopped(_Orders(suite.app))  # type: ignore[arg-type]


async def test_the_queue_a_replay_and_the_timeline_go_through_the_admin_api(suite: Suite) -> None:
    order_id = await parked(suite)

    listed = await suite.cli("orders", "exceptions", "--json")
    replayed = await suite.cli("orders", "replay", order_id, "--note", "from the runbook")
    await run_until_stopped_app(suite)
    timeline = await suite.cli("orders", "timeline", "MP-7")  # the channel's order id
    again = await suite.cli("orders", "replay", order_id)

    assert listed.exit_code == 0 and order_id in listed.stdout
    assert replayed.exit_code == 0, replayed.output
    assert f"{order_id} from create_sales_order by ops-cli" in replayed.stdout
    assert await suite.status(order_id) == "released"
    assert timeline.exit_code == 0, timeline.output
    assert '"actor": "ops-cli"' in timeline.stdout and '"note": "from the runbook"' in timeline.stdout
    assert again.exit_code == 1 and "not in the exception queue" in one_line(again)
    assert not list(suite.data_dir.iterdir())  # no database opened or created by the CLI


@pytest.mark.parametrize("reference", ["id", "PO-1", "b2b:PO-1", "erp number", "cid-placed-1"])
async def test_the_timeline_takes_any_reference_to_an_order(suite: Suite, reference: str) -> None:
    order_id = await suite.submit(
        order_body("PO-1", channel="b2b", customer_id="C-2001"), correlation_id="cid-placed-1"
    )
    await run_until_stopped_app(suite)
    erp_number = json.loads((await suite.cli("orders", "timeline", order_id)).stdout)["order"]["erp_order_number"]
    if reference == "b2b:PO-1":  # the same channel order id on another channel
        await suite.submit(order_body("PO-1"))
    given = {"id": order_id, "erp number": erp_number}.get(reference, reference)

    result = await suite.cli("orders", "timeline", given)

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["order"]["id"] == order_id


async def test_an_unknown_order_is_one_line(suite: Suite) -> None:
    result = await suite.cli("orders", "timeline", "nope-42")

    assert result.exit_code == 1
    assert one_line(result) == (
        "error: no order 'nope-42': not an order id, channel order id, ERP sales order number or correlation id"
    )


async def test_a_reference_naming_several_orders_is_one_line_listing_them(suite: Suite) -> None:
    first = await suite.submit(order_body("SAME-1"))
    second = await suite.submit(order_body("SAME-1", channel="b2b", customer_id="C-2001"))

    line = one_line(await suite.cli("orders", "timeline", "SAME-1"))

    assert line.startswith("error: 'SAME-1' names several orders; give one of their ids or <channel>:SAME-1: ")
    assert first in line and second in line


async def test_a_wrong_secret_or_a_missing_scope_is_one_line(suite: Suite) -> None:
    wrong = await suite.cli("orders", "exceptions", env={"INTERCHANGE_OPS_CLIENT_SECRET": "nope"})
    suite.scopes = ["orders:read"]
    unscoped = await suite.cli("orders", "exceptions")

    assert wrong.exit_code == unscoped.exit_code == 1
    assert "the gateway refused the ops client 'ops-cli'" in one_line(wrong)
    assert one_line(unscoped).startswith("error: the ops client 'ops-cli' may not do this: ")


async def test_a_suite_that_is_not_running_is_one_line(suite: Suite) -> None:
    result = await suite.cli("orders", "exceptions", env={"INTERCHANGE_GATEWAY_URL": "http://down.test"})

    assert result.exit_code == 1
    assert "cannot reach the gateway at http://down.test for a token (ConnectError): is the suite running?" in (
        one_line(result)
    )


async def test_the_local_suite_ops_client_comes_from_its_data_dir(suite: Suite) -> None:
    no_client = await suite.cli("orders", "exceptions", env={"INTERCHANGE_OPS_CLIENT_ID": ""})
    (suite.data_dir / "secrets.json").write_text('{"ops-cli": "s3cret"}')
    local = await suite.cli(
        "orders", "exceptions", env={"INTERCHANGE_OPS_CLIENT_ID": "", "INTERCHANGE_OPS_CLIENT_SECRET": ""}
    )

    assert "set both INTERCHANGE_OPS_CLIENT_ID and INTERCHANGE_OPS_CLIENT_SECRET" in one_line(no_client)
    assert local.exit_code == 0, local.output
