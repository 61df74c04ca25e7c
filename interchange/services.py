"""The services of the suite: where each one's factory lives, its tier, its API and versions.

A service whose package is not built yet is simply not started or exported.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from service_kit.settings import DEFAULT_PORTS


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    tier: str  # edge | experience | process | system
    package: str
    versions: tuple[str, ...] = ("v1",)
    client_scopes: tuple[str, ...] = ()  # scopes of this service's own client, for the tier below

    @property
    def factory(self) -> str:
        return f"{self.package}.app:create_app"

    @property
    def port(self) -> int:
        return DEFAULT_PORTS[self.name]

    @property
    def client_id(self) -> str:
        return f"svc-{self.name}"

    @property
    def publishes_api(self) -> bool:
        return self.tier != "edge"

    def available(self) -> bool:
        return importlib.util.find_spec(f"{self.package}.app") is not None


SERVICES: tuple[ServiceInfo, ...] = (
    ServiceInfo("erp", "system", "system_apis.erp"),
    ServiceInfo("wms", "system", "system_apis.wms"),
    ServiceInfo("crm", "system", "system_apis.crm"),
    ServiceInfo(
        "orders",
        "process",
        "process_apis.orders",
        client_scopes=("erp:read", "erp:write", "wms:read", "wms:write", "crm:read", "crm:write"),
    ),
    ServiceInfo(
        "inventory",
        "process",
        "process_apis.inventory",
        client_scopes=("wms:read", "erp:read"),
    ),
    # Shipments, invoices, returns and credit memos (issue 11); not started until its package exists.
    ServiceInfo(
        "fulfillment",
        "process",
        "process_apis.fulfillment",
        client_scopes=("erp:read", "erp:write", "wms:read", "wms:write", "crm:write", "orders:read"),
    ),
    ServiceInfo(
        "marketplace",
        "experience",
        "experience_apis.marketplace",
        # v1 is deprecated, with its sunset declared by the service (experience_apis.marketplace.app).
        versions=("v1", "v2"),
        client_scopes=("orders:write", "orders:read", "fulfillment:read", "fulfillment:write"),
    ),
    # Pushes inventory levels out to the storefront; takes its order webhooks in through the orders API.
    ServiceInfo(
        "storefront", "experience", "experience_apis.storefront", client_scopes=("orders:write", "orders:read")
    ),
    # The operations console: it calls the admin APIs with the signed-in operator's own token.
    ServiceInfo("ops", "experience", "experience_apis.ops"),
    # Resellers' purchasing systems: catalog, purchase orders and account (orders API), availability by
    # warehouse (inventory), invoices and credit memos (fulfilment).
    ServiceInfo(
        "b2b",
        "experience",
        "experience_apis.b2b",
        client_scopes=("orders:write", "orders:read", "inventory:read", "fulfillment:read"),
    ),
    # 3PL and drop-ship partners: fulfilment requests, ASNs, return receipts, stock snapshots.
    ServiceInfo(
        "fulfillment_partners",
        "experience",
        "experience_apis.fulfillment_partners",
        client_scopes=("fulfillment:write", "fulfillment:read", "inventory:write"),
    ),
    ServiceInfo("gateway", "edge", "gateway"),
)


def available_services() -> list[ServiceInfo]:
    return [s for s in SERVICES if s.available()]


def by_name(name: str) -> ServiceInfo:
    for s in SERVICES:
        if s.name == name:
            return s
    raise KeyError(name)
