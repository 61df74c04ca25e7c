"""Partner isolation, on the whole suite in process (real gateway, real services, the demo partners
acme-market and zenith-market): acme-market's token against each of zenith-market's objects through
the marketplace API (orders and webhook subscriptions, v1 and v2), and against every internal
(orders) and system (erp, wms, crm) operation of the committed contracts,
through the gateway and directly. Nothing of zenith's is seen or changed; nothing internal is
reachable: through the gateway such APIs do not exist (404), directly the token lacks their scopes
(403)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from gateway.routing import default_contracts_dir
from tests.support.suite import InProcessSuite, running_suite

pytestmark = pytest.mark.asyncio(loop_scope="module")

ATTACKER, VICTIM = "acme-market", "zenith-market"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class World:
    suite: InProcessSuite
    attacker: dict[str, str]  # acme-market's Authorization header
    victim: dict[str, str]
    #: zenith-market's objects: its marketplace order id and the orders service's id for it.
    victim_order: str
    victim_reference: str
    victim_view: dict[str, Any]
    #: Another of zenith-market's orders, whose id acme-market never uses for its own.
    other_victim_order: str
    #: zenith-market's webhook subscription.
    victim_webhook: str


def order(order_id: str, sku: str) -> dict[str, Any]:
    return {
        "marketplace_order_id": order_id,
        "currency_code": "EUR",
        "buyer": {"name": "Jane Doe", "email": "jane@example.test"},
        "shipping_address": {
            "recipient": "Jane Doe",
            "street": "Damrak 1",
            "city": "Amsterdam",
            "zip": "1012 LG",
            "country_code": "NL",
        },
        "order_items": [{"seller_sku": sku, "quantity_ordered": 1, "item_price": "19.99"}],
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    # The tokens are minted once for the whole module: a lifetime (24 h) no slow run can outlast.
    async with running_suite(tmp_path_factory.mktemp("isolation"), gateway={"token_lifetime": 86_400}) as suite:
        attacker = {"Authorization": f"Bearer {await suite.token(ATTACKER)}"}
        victim = {"Authorization": f"Bearer {await suite.token(VICTIM)}"}
        async with suite.client("gateway", headers=victim) as gw:
            submitted = await gw.post("/marketplace/v1/orders", json=order("ZEN-SECRET-1", "ZEN-0001"))
            assert submitted.status_code == 202, submitted.text
            view = await gw.get("/marketplace/v1/orders/ZEN-SECRET-1")
            assert view.status_code == 200, view.text
            other = await gw.post("/marketplace/v1/orders", json=order("ZEN-SECRET-2", "ZEN-0002"))
            assert other.status_code == 202, other.text
            hook = await gw.post(
                "/marketplace/v1/webhooks",
                json={"event_types": ["availability.changed"], "url": "https://93.184.216.34/zenith-hooks"},
            )
            assert hook.status_code == 201, hook.text
        async with suite.client("gateway", headers=attacker) as gw:
            own = await gw.post("/marketplace/v1/orders", json=order("ACME-1", "ACME-WB"))
            assert own.status_code == 202, own.text
        yield World(
            suite=suite,
            attacker=attacker,
            victim=victim,
            victim_order="ZEN-SECRET-1",
            victim_reference=str(submitted.json()["order_reference"]),
            victim_view=_stable(view.json()),
            other_victim_order="ZEN-SECRET-2",
            victim_webhook=str(hook.json()["id"]),
        )


def _stable(view: dict[str, Any]) -> dict[str, Any]:
    # What must not change: the order's identity and contents (its status and prices move on by
    # themselves as the order is processed).
    return {
        "marketplace_order_id": view["marketplace_order_id"],
        "order_reference": view["order_reference"],
        "items": [(i["seller_sku"], i["quantity_ordered"]) for i in view["order_items"]],
    }


def _operations(api: str) -> list[tuple[str, str]]:
    spec = yaml.safe_load((default_contracts_dir() / api / "v1.yaml").read_text())
    return [(m.upper(), p) for p, item in spec["paths"].items() for m in HTTP_METHODS if m in item]


def _fill(template: str, world: World) -> str:
    # Every path parameter is one of the victim's objects where we know one, else a plausible id.
    known = {"order_id": world.victim_reference, "marketplace_order_id": world.victim_order}
    return re.sub(r"\{([^}]+)\}", lambda m: known.get(m.group(1), "C-1002"), template)


INTERNAL = [(api, method, path) for api in ("orders", "erp", "wms", "crm") for method, path in _operations(api)]
IDS = [f"{api}:{method}:{path}" for api, method, path in INTERNAL]


# The marketplace API: the victim's objects


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_the_victims_order_does_not_exist_for_the_attacker(world: World, version: str) -> None:
    async with world.suite.client("gateway", headers=world.attacker) as gw:
        resp = await gw.get(f"/marketplace/{version}/orders/{world.victim_order}")
        own = await gw.get(f"/marketplace/{version}/orders/ACME-1")

    assert resp.status_code == 404, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert world.victim_reference not in resp.text
    assert own.status_code == 200  # the control: the attacker reads its own


async def test_submitting_under_the_victims_order_id_touches_nothing_of_the_victims(world: World) -> None:
    async with world.suite.client("gateway", headers=world.attacker) as gw:
        resp = await gw.post("/marketplace/v1/orders", json=order(world.victim_order, "ACME-WB"))
        assert resp.status_code == 202, resp.text  # ids are per partner: this is the attacker's own order
        assert resp.json()["order_reference"] != world.victim_reference
    async with world.suite.client("gateway", headers=world.victim) as gw:
        after = await gw.get(f"/marketplace/v1/orders/{world.victim_order}")

    assert _stable(after.json()) == world.victim_view


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/webhooks/{id}"),
        ("GET", "/webhooks/{id}/deliveries"),
        ("POST", "/webhooks/{id}/deliveries/x/replay"),
    ],
)
async def test_the_victims_webhook_does_not_exist_for_the_attacker(
    world: World, version: str, method: str, path: str
) -> None:
    async with world.suite.client("gateway", headers=world.attacker) as gw:
        resp = await gw.request(method, f"/marketplace/{version}" + path.format(id=world.victim_webhook))
        listed = await gw.get(f"/marketplace/{version}/webhooks")

    assert resp.status_code == 404, resp.text
    assert listed.status_code == 200
    assert world.victim_webhook not in listed.text
    async with world.suite.client("gateway", headers=world.victim) as gw:
        own = await gw.get(f"/marketplace/{version}/webhooks")
    assert world.victim_webhook in own.text  # still there, untouched


async def test_the_attacker_cannot_act_for_the_victim_by_header(world: World) -> None:
    headers = {**world.attacker, "X-Interchange-Partner": VICTIM}
    async with world.suite.client("gateway", headers=headers) as gw:
        resp = await gw.get(f"/marketplace/v1/orders/{world.other_victim_order}")

    assert resp.status_code == 404


# Internal and system APIs, through the gateway and directly


@pytest.mark.parametrize(("api", "method", "path"), INTERNAL, ids=IDS)
async def test_internal_and_system_apis_do_not_exist_through_the_gateway(
    world: World, api: str, method: str, path: str
) -> None:
    async with world.suite.client("gateway", headers=world.attacker) as gw:
        resp = await gw.request(method, f"/{api}{_fill(path, world)}", json={} if method == "POST" else None)

    assert resp.status_code == 404, resp.text
    assert resp.json()["detail"] == f"There is no API at /{api}/v1."


@pytest.mark.parametrize(("api", "method", "path"), INTERNAL, ids=IDS)
async def test_internal_and_system_apis_refuse_the_partner_token_directly(
    world: World, api: str, method: str, path: str
) -> None:
    headers = {**world.attacker, "X-Interchange-Partner": VICTIM, "Idempotency-Key": "attack-1"}
    async with world.suite.client(api, headers=headers) as service:
        resp = await service.request(method, _fill(path, world), json={} if method == "POST" else None)

    assert resp.status_code == 403, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert "lacks the scope" in resp.json()["detail"]


async def test_after_all_of_it_the_victims_order_is_as_it_was(world: World) -> None:
    async with world.suite.client("gateway", headers=world.victim) as gw:
        after = await gw.get(f"/marketplace/v1/orders/{world.victim_order}")

    assert after.status_code == 200
    assert _stable(after.json()) == world.victim_view


async def test_the_matrix_covers_every_internal_and_system_operation() -> None:
    assert {api for api, _, _ in INTERNAL} == {"orders", "erp", "wms", "crm"}
    assert all(Path(default_contracts_dir() / api / "v1.yaml").exists() for api in ("orders", "erp", "wms", "crm"))
    assert len(INTERNAL) >= 20
