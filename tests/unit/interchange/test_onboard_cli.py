"""``interchange partners onboard`` against the marketplace in process and a gateway faked at its
admin API: the partner's records and client are made, the credentials printed once; a bad
mapping is refused at its file's line and field with nothing made; a client the gateway refuses
undoes the fresh partner; a second run completes or updates and keeps the client."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from contracts.scopes import OPS
from experience_apis.b2b.app import create_app as create_b2b_app
from experience_apis.b2b.models import Reseller
from experience_apis.marketplace.app import create_app
from interchange import admin_client
from service_kit.http import RoutingTransport
from service_kit.settings import ServiceSettings
from tests.support.tokens import mint_token, static_verifier
from tests.unit.experience_apis.marketplace_fakes import FakeOrdersApi
from tests.unit.interchange.admin_support import LoopBridge
from tests.unit.interchange.cli_support import isolate, one_line, run

FIXTURES = Path(__file__).parents[2] / "fixtures" / "onboarding"
SECRET = "s3cret"
ENV = {
    "INTERCHANGE_MARKETPLACE_URL": "http://marketplace.test",
    "INTERCHANGE_B2B_URL": "http://b2b.test",
    "INTERCHANGE_GATEWAY_URL": "http://gateway.test",
    "INTERCHANGE_OPS_CLIENT_ID": "ops-cli",
    "INTERCHANGE_OPS_CLIENT_SECRET": SECRET,
}
GLOBEX = (
    "partners", "onboard", "--template", "marketplace", "--partner-id", "globex-market",
    "--customer-id", "C-1002", "--currency", "EUR",
    "--listing", "GLX-WIDGET-B=WIDGET-BLUE", "--listing", "GLX-USB-C=CABLE-USB-C",
)  # fmt: skip


@dataclass
class FakeGateway:
    """The gateway's token endpoint and ``/admin/clients``, as far as onboarding uses them."""

    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    refuse: str | None = None  # a problem detail for the next POST /admin/clients

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            token = mint_token(OPS, client_id="ops-cli", kind="internal")
            return httpx.Response(200, json={"access_token": token, "token_type": "Bearer", "expires_in": 300})
        if request.url.path == "/admin/clients" and request.method == "GET":
            return httpx.Response(200, json={"items": list(self.clients.values())})
        if request.url.path == "/admin/clients" and request.method == "POST":
            if self.refuse:
                body = {"type": "urn:interchange:problem:validation-failed", "status": 422, "detail": self.refuse}
                return httpx.Response(422, json=body, headers={"content-type": "application/problem+json"})
            body = json.loads(request.content)
            self.clients[body["client_id"]] = {**body, "enabled": True}
            return httpx.Response(201, json={"client_id": body["client_id"], "client_secret": "cs_once"})
        return httpx.Response(404, json={"detail": "nothing here"})


@dataclass
class Suite:
    app: FastAPI
    b2b: FastAPI
    gateway: FakeGateway
    data_dir: Path

    async def reseller(self, partner_id: str) -> tuple[str, str] | None:
        """The b2b service's row for the reseller: (customer id, currency)."""
        async with self.b2b.state.db.transaction() as session:
            found = await session.get(Reseller, partner_id)
            return None if found is None else (found.customer_id, found.currency)

    async def cli(self, *args: str) -> Any:
        return await asyncio.to_thread(run, self.data_dir, *args, env=ENV)

    async def known(self) -> bool:
        """Whether the marketplace has globex-market as a partner (its feed answers, not a 403)."""
        token = mint_token("marketplace:availability.read", client_id="globex-market", partner_id="globex-market")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://mp.test") as c:
            resp = await c.get("/v2/availability", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code in (200, 403), resp.text
        return resp.status_code == 200

    async def order(self, key: str = "glx-1") -> httpx.Response:
        """Globex's order in its own fields, straight to the marketplace: what the partner's records allow."""
        token = mint_token(
            "marketplace:orders.write", client_id="globex-market", partner_id="globex-market", channel="marketplace"
        )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://mp.test") as c:
            return await c.post(
                "/v2/dialect-orders",
                json=json.loads((FIXTURES / "globex-order.json").read_text()),
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            )


@pytest.fixture
async def suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Suite]:
    isolate(monkeypatch)
    settings = ServiceSettings.load(
        "marketplace", data_dir=tmp_path / "mp", seed_demo=True, log_json=False,
        orders_url="http://orders.test", client_id="", client_secret="",
    )  # fmt: skip
    transport = RoutingTransport({"orders.test": httpx.MockTransport(FakeOrdersApi().handle)})
    app = create_app(settings, transport=transport, verifier=static_verifier())
    b2b_settings = ServiceSettings.load(
        "b2b", data_dir=tmp_path / "b2b", seed_demo=False, log_json=False,
        orders_url="http://orders.test", client_id="", client_secret="",
    )  # fmt: skip
    b2b = create_b2b_app(b2b_settings, transport=transport, verifier=static_verifier())
    gateway = FakeGateway()
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    async with app.router.lifespan_context(app), b2b.router.lifespan_context(b2b):
        routes = {
            "marketplace.test": httpx.ASGITransport(app=app),
            "b2b.test": httpx.ASGITransport(app=b2b),
            "gateway.test": httpx.MockTransport(gateway.handle),
        }
        monkeypatch.setattr(admin_client, "transport", LoopBridge(asyncio.get_running_loop(), routes))
        yield Suite(app=app, b2b=b2b, gateway=gateway, data_dir=data_dir)


async def test_onboarding_makes_the_records_and_the_client_and_shows_the_secret_once(suite: Suite) -> None:
    result = await suite.cli(*GLOBEX, "--mapping", str(FIXTURES / "globex-mapping.yaml"))

    assert result.exit_code == 0, result.output
    assert "client_id=globex-market\nclient_secret=cs_once" in result.stdout
    assert "marketplace: 2 listing(s), its own field mapping" in result.stdout
    client = suite.gateway.clients["globex-market"]
    assert client["partner_id"] == "globex-market" and client["channel"] == "marketplace"
    assert client["kind"] == "partner" and client["tier"] == "standard"
    assert "marketplace:orders.write" in client["scopes"]
    assert (await suite.order()).status_code == 202
    assert not list(suite.data_dir.iterdir())  # no database opened or created by the CLI


async def test_a_second_run_updates_the_records_and_keeps_the_client(suite: Suite) -> None:
    first = await suite.cli(*GLOBEX, "--json")
    again = await suite.cli(*GLOBEX, "--mapping", str(FIXTURES / "globex-mapping.yaml"), "--json")

    assert first.exit_code == 0 and json.loads(first.stdout)["client_secret"] == "cs_once"
    assert again.exit_code == 0, again.output
    answer = json.loads(again.stdout)
    assert answer["client_created"] is False and answer["client_secret"] is None
    assert answer["records"] == {
        "partner_id": "globex-market",
        "created": False,
        "listings": 2,
        "field_mapping": True,
        "webhooks": [],
    }
    assert (await suite.order()).status_code == 202  # the mapping of the second run is in use


async def test_a_bad_mapping_is_refused_at_its_line_and_field_and_nothing_is_made(suite: Suite, tmp_path: Path) -> None:
    bad = tmp_path / "bad-mapping.yaml"
    text = (FIXTURES / "globex-mapping.yaml").read_text()
    bad.write_text(text.replace("    to: buyer.email\n", "    to: buyer.phone\n"))
    line = text.splitlines().index("    to: buyer.email") + 1

    result = await suite.cli(*GLOBEX, "--mapping", str(bad))

    assert result.exit_code == 1
    message = one_line(result)
    assert message.startswith(f"error: {bad}:{line}: fields[2].to: 'buyer.phone' is not a field of the version 2 order")
    assert suite.gateway.clients == {}
    assert not await suite.known()


async def test_a_client_the_gateway_refuses_undoes_the_fresh_partner(suite: Suite) -> None:
    suite.gateway.refuse = "Unknown rate tier 'standard'; valid: internal."

    refused = await suite.cli(*GLOBEX, "--mapping", str(FIXTURES / "globex-mapping.yaml"))

    assert refused.exit_code == 1
    assert one_line(refused) == (
        "error: the gateway refused the client: Unknown rate tier 'standard'; valid: internal. "
        "(the partner's records were removed again)"
    )
    assert not await suite.known()
    # Run again once the cause is fixed: it completes.
    suite.gateway.refuse = None
    completed = await suite.cli(*GLOBEX, "--mapping", str(FIXTURES / "globex-mapping.yaml"))
    assert completed.exit_code == 0, completed.output
    assert (await suite.order(key="glx-2")).status_code == 202


async def test_a_client_id_of_another_partner_is_refused_before_anything(suite: Suite) -> None:
    suite.gateway.clients["globex-market"] = {"client_id": "globex-market", "partner_id": "someone-else"}

    result = await suite.cli(*GLOBEX)

    assert result.exit_code == 1
    assert "exists for partner 'someone-else'" in one_line(result)
    assert not await suite.known()


async def test_a_template_without_partner_records_makes_the_client_only(suite: Suite) -> None:
    result = await suite.cli("partners", "onboard", "--template", "3pl", "--partner-id", "fast-3pl", "--json")

    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["records"] is None and answer["client_secret"] == "cs_once"
    assert suite.gateway.clients["fast-3pl"]["scopes"] == [
        "fulfillment:requests.read",
        "fulfillment:shipments.write",
        "fulfillment:returns.write",
        "fulfillment:stock.write",
    ]


async def test_an_unreachable_service_is_one_line(suite: Suite, tmp_path: Path) -> None:
    shutil.rmtree(suite.data_dir)
    result = await asyncio.to_thread(
        run, suite.data_dir, *GLOBEX, env={**ENV, "INTERCHANGE_MARKETPLACE_URL": "http://nowhere.test"}
    )

    assert result.exit_code == 1
    assert "cannot reach the marketplace service at http://nowhere.test" in one_line(result)
    assert suite.gateway.clients == {}
    assert not await suite.known()


async def test_the_b2b_template_links_the_reseller_to_its_erp_account(suite: Suite) -> None:
    args = ("partners", "onboard", "--template", "b2b", "--partner-id", "north-hw")

    made = await suite.cli(*args, "--customer-id", "C-2001", "--currency", "EUR")
    moved = await suite.cli(*args, "--customer-id", "C-2002", "--currency", "GBP", "--json")

    assert made.exit_code == 0, made.output
    assert "b2b: account C-2001 (EUR)" in made.stdout and "client_secret=cs_once" in made.stdout
    assert suite.gateway.clients["north-hw"]["channel"] == "b2b"
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.stdout)["records"]["created"] is False
    assert await suite.reseller("north-hw") == ("C-2002", "GBP")


async def test_a_refused_b2b_client_removes_the_fresh_reseller(suite: Suite) -> None:
    suite.gateway.refuse = "Unknown scope(s) b2b:catalog.read."

    result = await suite.cli(
        "partners", "onboard", "--template", "b2b", "--partner-id", "north-hw", "--customer-id", "C-2001",
        "--currency", "EUR",
    )  # fmt: skip

    assert result.exit_code == 1
    assert "(the partner's records were removed again)" in one_line(result)
    assert await suite.reseller("north-hw") is None


def test_a_long_secret_is_printed_on_one_line_whatever_the_width(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rich folded lines at the console's width (80 when piped): a webhook secret's line is ~110
    # characters, so a script or an operator copying it got half a secret.
    from io import StringIO

    from rich.console import Console

    from interchange.commands import partners
    from interchange.onboarding.templates import load_template

    out = StringIO()
    monkeypatch.setattr(partners, "console", Console(file=out, width=40))
    hook = {"id": "whsub_" + "a" * 32, "url": "https://globex.example/hooks", "event_types": ["availability.changed"]}
    secret = "whsec_" + "B" * 32
    records = {"partner_id": "globex-market", "created": True, "listings": 0, "webhooks": [{**hook, "secret": secret}]}

    partners._answer(
        template=load_template("marketplace"),
        partner_id="globex-market",
        client={"client_id": "globex-market", "client_secret": "cs_" + "c" * 43},
        records=records,
        as_json=False,
    )

    lines = out.getvalue().splitlines()
    assert f"webhook_secret[{hook['id']}]={secret}" in lines
    assert "client_secret=cs_" + "c" * 43 in lines
