"""A service's own /docs and the security scheme of its published documents (service_kit.openapi)."""

from __future__ import annotations

import re

import httpx

from experience_apis.marketplace.app import create_app
from service_kit.openapi import version_spec
from service_kit.settings import ServiceSettings


async def test_a_service_docs_page_loads_swagger_ui_from_the_service_itself() -> None:
    app = create_app(ServiceSettings.load("marketplace", log_json=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        page = await client.get("/docs")
        bundle = await client.get("/docs/swagger-ui-bundle.js")
        css = await client.get("/docs/swagger-ui.css")

    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/docs/swagger-ui-bundle.js" in sources
    assert "/docs/swagger-ui.css" in sources
    assert all(s.startswith("/") for s in sources), sources  # nothing from another origin (a CDN)
    assert bundle.status_code == 200
    assert "SwaggerUIBundle" in bundle.text
    assert css.headers["content-type"].startswith("text/css")


def test_a_version_document_declares_its_scopes_and_the_gateway_token_url() -> None:
    app = create_app(ServiceSettings.load("marketplace", log_json=False))

    spec = version_spec(
        app,
        api="marketplace",
        version="v2",
        service="marketplace",
        tier="experience",
        server="http://gw/marketplace",
        token_url="http://gw/oauth2/token",
    )

    flow = spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "http://gw/oauth2/token"
    assert flow["scopes"]["marketplace:orders.write"] == (
        "Needed by submitMarketplaceOrderV2, requestReturnV2, submitMarketplaceOrderInDialectV2"
    )
    used = {
        scope
        for item in spec["paths"].values()
        for op in item.values()
        for requirement in op.get("security", [])
        for scope in requirement.get("oauth2", [])
    }
    assert used == set(flow["scopes"])
    assert app.openapi()["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["scopes"] == {}
