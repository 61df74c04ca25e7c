from __future__ import annotations

from pathlib import Path

import pytest

from gateway.routing import ContractError, RoutingTable, default_contracts_dir, load_routing_table
from tests.unit.gateway.conftest import MARKETPLACE_V1, gateway_settings, write_contract


def _table(tmp_path: Path, contracts_dir: Path) -> RoutingTable:
    return load_routing_table(contracts_dir, gateway_settings(tmp_path, contracts_dir))


def test_experience_and_process_apis_are_routed_system_apis_never(tmp_path: Path, contracts_dir: Path) -> None:
    table = _table(tmp_path, contracts_dir)

    assert [(r.api, r.version, r.service) for r in table] == [
        ("marketplace", "v1", "marketplace"),
        ("orders", "v1", "orders"),
    ]
    route = table.get("marketplace", "v1")
    assert route is not None
    assert str(route.upstream) == "http://marketplace.test"
    assert not route.internal_only
    orders = table.get("orders", "v1")
    assert orders is not None
    assert orders.internal_only  # for internal clients only
    assert table.get("erp", "v1") is None


def test_operations_are_matched_by_template_literal_paths_first(tmp_path: Path, contracts_dir: Path) -> None:
    route = _table(tmp_path, contracts_dir).get("marketplace", "v1")
    assert route is not None

    def op(path: str, method: str = "GET") -> str | None:
        ops = route.find(path)
        return ops[method].operation_id if ops and method in ops else None

    assert op("/v1/orders") == "listOrders"
    assert op("/v1/orders", "POST") == "submitOrder"
    assert op("/v1/orders/MP-1") == "getOrder"
    assert op("/v1/orders/export") == "exportOrders"
    assert route.find("/v1/orders/MP-1/lines") is None
    assert route.find("/v1/orders/..") is None
    ops = route.find("/v1/orders/MP-1")
    assert ops is not None
    assert ops["GET"].path == "/marketplace/v1/orders/{marketplace_order_id}"
    assert ops["GET"].scopes == (frozenset({"marketplace:orders.read"}),)


def test_a_missing_or_empty_contracts_directory_routes_nothing(tmp_path: Path) -> None:
    assert len(_table(tmp_path, tmp_path / "missing")) == 0
    (tmp_path / "empty").mkdir()
    assert len(_table(tmp_path, tmp_path / "empty")) == 0


def test_the_default_is_the_contracts_package() -> None:
    assert default_contracts_dir().parts[-2:] == ("contracts", "openapi")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("x-interchange-api: marketplace", "x-interchange-api: storefront", "x-interchange-api"),
        ("x-interchange-tier: experience", "x-interchange-tier: edge", "x-interchange-tier"),
        ("x-interchange-service: marketplace", "x-interchange-service: nowhere", "nowhere_url"),
        ("  /v1/orders:\n", "  /v2/orders:\n", "not under /v1/"),
    ],
)
def test_a_contract_the_gateway_cannot_route_by_stops_it(tmp_path: Path, old: str, new: str, message: str) -> None:
    root = tmp_path / "contracts"
    write_contract(root, "marketplace", "v1", MARKETPLACE_V1.replace(old, new, 1))

    with pytest.raises(ContractError, match=message):
        _table(tmp_path, root)
