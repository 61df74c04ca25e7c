"""Reads from the tier below with this service's own token: every WMS stock position with its
version, and every ERP item's stock policy, page by page."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from process_apis.inventory.projection import ItemState, PositionState
from service_kit.errors import UpstreamUnavailable
from service_kit.http import Upstream

PAGE = 500


def _units(quantity: dict[str, Any]) -> int:
    return int(Decimal(str(quantity["value"])))


async def _pages(upstream: Upstream, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": PAGE, **({"after": after} if after else {})}
        resp = await upstream.request("GET", path, params=params)
        if resp.status_code != 200:
            raise UpstreamUnavailable(f"The {upstream.name} service answered {resp.status_code} to GET {path}.")
        body = resp.json()
        items.extend(body["items"])
        after = body.get("next_after")
        if not after:
            return items


async def fetch_stock(*, wms: Upstream) -> list[PositionState]:
    """The WMS's current stock, every position (``GET /v1/stock-snapshot``)."""
    return [
        PositionState(
            sku=row["sku"],
            warehouse=row["warehouse"],
            on_hand=_units(row["on_hand"]),
            reserved=_units(row["reserved"]),
            version=int(row["version"]),
            moved_at=datetime.fromisoformat(row["updated_at"]).astimezone(UTC),
        )
        for row in await _pages(wms, "/v1/stock-snapshot")
    ]


async def fetch_items(*, erp: Upstream) -> list[ItemState]:
    """Every ERP item's status and safety stock (``GET /v1/item-stock-policies``)."""
    return [
        ItemState(
            sku=row["sku"], status=row["status"], safety_stock=_units(row["safety_stock"]), version=int(row["version"])
        )
        for row in await _pages(erp, "/v1/item-stock-policies")
    ]


__all__ = ["fetch_items", "fetch_stock"]
