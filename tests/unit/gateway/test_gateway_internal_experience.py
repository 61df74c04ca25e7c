"""An experience API that no partner scope opens (the ops console's, the storefront's admin API) is
routed for internal clients only: to a partner it does not exist (the 404 of a process API), as
the developer portal does not show it; an internal client with the scope reaches the service."""

from __future__ import annotations

from pathlib import Path

import httpx

from service_kit.http import RoutingTransport
from tests.unit.gateway.conftest import FakeService, gateway_settings, running_gateway, write_contract

OPS_V1 = """\
openapi: 3.1.0
info: {title: Ops, version: 1.0.0}
x-interchange-api: ops
x-interchange-service: ops
x-interchange-tier: experience
paths:
  /v1/orders/search:
    get:
      operationId: searchOrders
      security: [{oauth2: [ops]}]
      responses: {"200": {description: ok}}
"""


async def test_a_partner_gets_the_404_of_an_api_that_does_not_exist_an_operator_gets_through(
    tmp_path: Path, contracts_dir: Path
) -> None:
    write_contract(contracts_dir, "ops", "v1", OPS_V1)
    ops = FakeService()
    transport = RoutingTransport(
        {"ops.test": httpx.ASGITransport(app=ops), "marketplace.test": httpx.ASGITransport(app=FakeService())}
    )
    settings = gateway_settings(tmp_path, contracts_dir, ops_url="http://ops.test")
    async with running_gateway(settings, transport) as gateway:
        partner = await gateway.partner_bearer()
        hidden = await gateway.client.get("/ops/v1/orders/search", params={"reference": "MP-1"}, headers=partner)
        assert hidden.status_code == 404
        assert hidden.headers["content-type"] == "application/problem+json"
        assert hidden.json()["detail"] == "There is no API at /ops/v1."
        client_id, secret = await gateway.register(client_id="ops-alice", kind="internal", scopes=["ops"])
        operator = {"Authorization": f"Bearer {await gateway.token(client_id, secret)}"}
        found = await gateway.client.get("/ops/v1/orders/search", params={"reference": "MP-1"}, headers=operator)
        assert found.status_code == 200, found.text
        assert [s.path for s in ops.seen] == ["/v1/orders/search"]
        # The marketplace, which partner scopes open, is still routed for partners.
        assert (await gateway.client.get("/marketplace/v1/orders", headers=partner)).status_code == 200
