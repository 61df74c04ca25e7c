"""The developer portal at /developers, in process, on the committed contracts (issue 13)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.app import create_app
from gateway.portal.catalog import load_catalog
from gateway.routing import default_contracts_dir
from interchange.compat import breaking_changes
from tests.unit.gateway.conftest import GATEWAY_URL, gateway_settings

TOKEN_URL = f"{GATEWAY_URL}/oauth2/token"
#: Every API the suite publishes that a partner must not see.
INTERNAL_APIS = ("orders", "inventory", "erp", "wms", "crm", "storefront", "ops")


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # The portal needs no lifespan: it is built from the settings on its first request.
    app = create_app(gateway_settings(tmp_path, None))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=GATEWAY_URL) as client:
        yield client


def contract(api: str, version: str) -> dict:
    return yaml.safe_load((default_contracts_dir() / api / f"{version}.yaml").read_text())


async def test_the_index_lists_every_partner_api_version_and_nothing_internal(portal: httpx.AsyncClient) -> None:
    resp = await portal.get("/developers")

    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    listed = re.findall(r'data-version="([^"]+)"', resp.text)
    assert listed == ["b2b-v1", "fulfillment_partners-v1", "marketplace-v2", "marketplace-v1"]
    assert f"{GATEWAY_URL}/marketplace/v2" in resp.text and "Deprecated" in resp.text
    for api in INTERNAL_APIS:
        assert f'data-api="{api}"' not in resp.text
        gone = await portal.get(f"/developers/{api}-v1.json")
        assert gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"
        assert "/developers/marketplace-v2" in gone.json()["detail"]


async def test_no_page_or_document_shows_a_service_address_or_routing_key(portal: httpx.AsyncClient) -> None:
    settings = gateway_settings(Path("/nonexistent"), None)
    upstreams = [getattr(settings, f"{api}_url") for api in ("marketplace", "orders", "erp", "wms", "crm")]
    pages = ["/developers", "/developers/start?client_id=acme-market", "/developers/changelog", "/developers/webhooks"]
    pages += ["/developers/marketplace-v1", "/developers/marketplace-v2"]
    pages += ["/developers/marketplace-v1.json", "/developers/marketplace-v2.json"]
    for page in pages:
        text = (await portal.get(page)).text
        assert "x-interchange-service" not in text and "x-interchange-tier" not in text, page
        assert not [u for u in upstreams if u in text], page
        assert not re.search(r'"/(orders|inventory|erp|wms|crm)/v\d', text), page


async def test_the_reference_document_points_at_the_gateway_with_scopes_per_operation(
    portal: httpx.AsyncClient,
) -> None:
    spec = (await portal.get("/developers/marketplace-v2.json")).json()

    assert spec["servers"] == [{"url": f"{GATEWAY_URL}/marketplace/v2", "description": "The gateway"}]
    assert set(spec["paths"]) == {p.removeprefix("/v2") for p in contract("marketplace", "v2")["paths"]}
    flow = spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == TOKEN_URL
    submit = spec["paths"]["/orders"]["post"]
    assert submit["security"] == [{"oauth2": ["marketplace:orders.write"]}]
    assert submit["description"].endswith("**Scopes:** `marketplace:orders.write`")
    used = {s for item in spec["paths"].values() for op in item.values() for r in op["security"] for s in r["oauth2"]}
    assert set(flow["scopes"]) == used
    assert "submitMarketplaceOrderV2" in flow["scopes"]["marketplace:orders.write"]


async def test_swagger_ui_is_served_by_the_gateway_and_the_page_loads_nothing_from_elsewhere(
    portal: httpx.AsyncClient,
) -> None:
    page = await portal.get("/developers/marketplace-v2?client_id=acme-market")

    assert "default-src 'self'" in page.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/developers/swagger-ui-bundle.js" in sources and "/developers/swagger-ui.css" in sources
    assert [s for s in sources if not s.startswith("/")] == []
    assert 'data-spec-url="/developers/marketplace-v2.json"' in page.text
    assert 'data-client-id="acme-market"' in page.text
    bundle = await portal.get("/developers/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in bundle.content
    assert (await portal.get("/developers/swagger-ui.css")).status_code == 200


async def test_a_deprecated_version_shows_its_banner_with_the_sunset_and_its_successor(
    portal: httpx.AsyncClient,
) -> None:
    old = (await portal.get("/developers/marketplace-v1")).text
    new = (await portal.get("/developers/marketplace-v2")).text

    v1 = contract("marketplace", "v1")
    assert 'id="deprecation"' in old and f'<strong class="sunset">{v1["x-interchange-sunset"]}</strong>' in old
    assert f"since {v1['x-interchange-deprecated-since']}" in old
    assert '<a href="/developers/marketplace-v2">marketplace v2</a>' in old
    assert 'id="deprecation"' not in new
    spec = (await portal.get("/developers/marketplace-v1.json")).json()
    assert spec["info"]["description"].startswith("**Deprecated.** Served until 2027-06-30")


async def test_the_changelog_is_the_breaking_change_gates_comparison(portal: httpx.AsyncClient) -> None:
    page = (await portal.get("/developers/changelog")).text
    catalog = load_catalog(default_contracts_dir(), gateway_url=GATEWAY_URL, token_url=TOKEN_URL)
    v1, v2 = catalog.find("marketplace-v1"), catalog.find("marketplace-v2")
    assert v1 is not None and v2 is not None

    section = page.split('id="marketplace-v2"', 1)[1]
    breaking = breaking_changes(v1.spec, v2.spec)
    assert breaking  # v2 is a new major version for a reason
    for change in breaking:
        assert f'<code>{change.where}</code>: {change.detail} <span class="kind">[{change.kind}]</span>' in section
    assert "POST /orders request body $.lines</code>: new required field" in section
    added = section.split("<h3>Added</h3>", 1)[1]
    assert "POST /orders request body $.lines</code>: now accepted <span" in added
    assert "GET /orders/{marketplace_order_id} response 200 $.total</code>: response field added" in added


async def test_getting_started_fills_in_the_partners_client_id_and_never_a_secret(portal: httpx.AsyncClient) -> None:
    page = (await portal.get("/developers/start", params={"client_id": "acme-market"})).text

    token_step = page.split('id="step-token">', 1)[1].split("</pre>", 1)[0]
    assert "CLIENT_ID=acme-market" in token_step and TOKEN_URL in token_step
    assert 'read -rsp "Client secret: " CLIENT_SECRET' in token_step
    assert "whsec_" not in page
    submit = page.split('id="step-submit">', 1)[1].split("</pre>", 1)[0]
    assert 'curl -s -X POST "$GATEWAY/marketplace/v2/orders"' in submit
    assert "-H &#39;idempotency-key: acme-ACME-100234&#39;" in submit
    example = contract("marketplace", "v2")["paths"]["/v2/orders"]["post"]["requestBody"]["content"]
    body = example["application/json"]["examples"]["example"]["value"]
    assert json.dumps(body, indent=2).replace('"', "&#34;") in submit
    read = page.split('id="step-read">', 1)[1].split("</pre>", 1)[0]
    assert 'curl -s "$GATEWAY/marketplace/v2/orders/ACME-100234"' in read
    assert 'href="/developers/marketplace-v2?client_id=acme-market"' in page


async def test_getting_started_refuses_a_client_id_that_is_not_one(portal: httpx.AsyncClient) -> None:
    resp = await portal.get("/developers/start", params={"client_id": "<script>alert(1)</script>"})

    assert resp.status_code == 422 and resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["errors"][0]["pointer"] == "#/query/client_id"
    assert "<script>" not in resp.text


async def test_the_webhooks_page_shows_the_payload_and_how_to_verify_it(portal: httpx.AsyncClient) -> None:
    page = (await portal.get("/developers/webhooks")).text

    assert 'id="webhook-availability.changed"' in page
    assert "&#34;type&#34;: &#34;availability.changed&#34;" in page
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert f"<code>{header}</code>" in page
    assert "hmac.compare_digest" in page and "HMAC-SHA256" in page


MIXED = """\
openapi: 3.1.0
info: {title: Shop, version: 1.0.0}
x-interchange-api: shop
x-interchange-service: shop
x-interchange-tier: experience
paths:
  /v1/orders:
    post:
      operationId: submitOrder
      security: [{oauth2: [marketplace:orders.write]}]
      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/OrderIn'}}}}
      responses: {"202": {description: accepted}}
  /v1/admin/replays:
    post:
      operationId: replayEverything
      security: [{oauth2: [ops]}]
      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/ReplayOrder'}}}}
      responses: {"202": {description: accepted}}
components:
  schemas:
    OrderIn: {type: object, properties: {sku: {$ref: '#/components/schemas/Sku'}}}
    Sku: {type: string}
    ReplayOrder: {type: object}
"""

#: An experience API only internal clients may call (as the ops console's).
ADMIN_ONLY = MIXED.replace("shop", "console").replace("marketplace:orders.write", "ops")


def test_partners_see_only_what_they_can_call(tmp_path: Path) -> None:
    for api, text in (("shop", MIXED), ("console", ADMIN_ONLY)):
        (tmp_path / api).mkdir()
        (tmp_path / api / "v1.yaml").write_text(text)

    catalog = load_catalog(tmp_path, gateway_url=GATEWAY_URL, token_url=TOKEN_URL)

    assert [v.slug for v in catalog.versions] == ["shop-v1"]
    spec = catalog.versions[0].spec
    assert list(spec["paths"]) == ["/orders"]
    assert sorted(spec["components"]["schemas"]) == ["OrderIn", "Sku"]
    assert "replay" not in json.dumps(spec).lower()
