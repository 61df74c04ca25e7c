"""The inventory and fulfilment process APIs, as the B2B channel reads them (over HTTP, with this
service's own token; the fulfilment reads carry the reseller forward, so the process answers only
for the reseller's own orders). Answers come back as canonical objects or as this service's errors:

    200                    -> the answer
    404                    -> None: no stock known of the SKU / nothing of the order there (yet)
    any other 4xx          -> UpstreamUnavailable: this API's request or configuration was refused
                              (an unknown channel, a missing scope), which the reseller cannot fix
    5xx, unreachable       -> UpstreamUnavailable / UpstreamTimeout (raised by the kit's client)
"""

from __future__ import annotations

from urllib.parse import quote

from contracts import CreditMemo, Invoice, Quantity, Return
from contracts.common import CanonicalModel
from service_kit.answers import parse_answer
from service_kit.errors import UpstreamUnavailable
from service_kit.http import Upstream


class WarehouseStock(CanonicalModel):
    warehouse: str
    available: Quantity


class ChannelStock(CanonicalModel):
    sku: str
    channel: str
    available: Quantity
    warehouses: list[WarehouseStock]


class _Invoices(CanonicalModel):
    items: list[Invoice]


class _Returns(CanonicalModel):
    items: list[Return]


class _CreditMemos(CanonicalModel):
    items: list[CreditMemo]


def _refused(upstream: str, status: int) -> UpstreamUnavailable:
    return UpstreamUnavailable(f"The {upstream} service refused this API's request ({status}).")


class InventoryApi:
    def __init__(self, upstream: Upstream) -> None:
        self._inventory = upstream

    async def by_warehouse(self, *, sku: str, channel: str) -> ChannelStock | None:
        resp = await self._inventory.get(
            f"/v1/availability/{quote(sku, safe='')}/warehouses", params={"channel": channel}
        )
        if resp.status_code == 404:
            return None
        if resp.status_code == 200:
            return parse_answer(ChannelStock, resp, upstream="inventory")
        raise _refused("inventory", resp.status_code)


class FulfillmentApi:
    def __init__(self, upstream: Upstream) -> None:
        self._fulfillment = upstream

    async def invoices_of(self, *, order_id: str, partner_id: str) -> list[Invoice] | None:
        resp = await self._fulfillment.get(f"/v1/orders/{quote(order_id, safe='')}/invoices", partner_id=partner_id)
        if resp.status_code == 404:
            return None
        if resp.status_code == 200:
            return parse_answer(_Invoices, resp, upstream="fulfillment").items
        raise _refused("fulfillment", resp.status_code)

    async def returns_of(self, *, order_id: str, partner_id: str) -> list[Return] | None:
        resp = await self._fulfillment.get(f"/v1/orders/{quote(order_id, safe='')}/returns", partner_id=partner_id)
        if resp.status_code == 404:
            return None
        if resp.status_code == 200:
            return parse_answer(_Returns, resp, upstream="fulfillment").items
        raise _refused("fulfillment", resp.status_code)

    async def credit_memos_of(self, *, order_id: str, partner_id: str) -> list[CreditMemo] | None:
        """The ERP's credit memos of the order's returns, with their amounts (None: nothing of the order there)."""
        path = f"/v1/orders/{quote(order_id, safe='')}/credit-memos"
        resp = await self._fulfillment.get(path, partner_id=partner_id)
        if resp.status_code == 404:
            return None
        if resp.status_code == 200:
            return parse_answer(_CreditMemos, resp, upstream="fulfillment").items
        raise _refused("fulfillment", resp.status_code)


__all__ = ["ChannelStock", "FulfillmentApi", "InventoryApi", "WarehouseStock"]
