"""An operation the contract marks ``x-interchange-service-only`` (the storefront's signed order
webhook, received on the storefront service's own port without a bearer token) is published but
never routed by the gateway, and does not make an internal-only API partner-facing."""

from __future__ import annotations

from pathlib import Path

from gateway.routing import default_contracts_dir, load_routing_table
from tests.unit.gateway.conftest import gateway_settings


def test_the_storefront_webhook_is_not_routed_and_the_api_stays_internal(tmp_path: Path) -> None:
    contracts = default_contracts_dir()
    published = (contracts / "storefront" / "v1.yaml").read_text()
    assert "/v1/webhooks/orders:" in published and "x-interchange-service-only: true" in published

    table = load_routing_table(contracts, gateway_settings(tmp_path, contracts, storefront_url="http://sf.test"))
    route = table.get("storefront", "v1")

    assert route is not None
    assert route.find("/v1/webhooks/orders") is None  # 404 at the gateway, like an unpublished path
    assert route.find("/v1/sync-status") is not None
    assert route.internal_only  # its other operations all need storefront:admin
