"""The storefront's admin API, in its own dialect: ``POST /inventory_levels/set.json`` with
``{"inventory_item_id", "available"}`` (Shopify-like).

Calls go through the kit's ``Upstream``: evenly paced at the storefront's rate limit, a 429 waited
out as its ``Retry-After`` says (holding back every push meanwhile), a circuit breaker, timeouts.
It gets a credential-less service token on purpose: this service's own gateway token must never
be sent to a third party; the storefront's access token travels in its own header.
"""

from __future__ import annotations

from typing import Any

import httpx

from service_kit.errors import UpstreamUnavailable
from service_kit.http import ServiceToken, Upstream, UpstreamPolicy, configure_upstream

NAME = "storefront_admin"


class StorefrontRefused(UpstreamUnavailable):
    """The storefront answered 4xx (other than 429): the push is wrong or the item unknown there."""


class StorefrontAdmin:
    def __init__(self, http: httpx.AsyncClient, *, base_url: str, token: str, calls_per_second: float) -> None:
        configure_upstream(http, NAME, UpstreamPolicy(calls_per_second=calls_per_second or None))
        no_credentials = ServiceToken(http, token_url="", client_id="", client_secret="")
        self._upstream = Upstream(http, no_credentials, base_url=base_url, name=NAME)
        self._headers = {"X-Storefront-Access-Token": token} if token else {}

    async def set_inventory_level(self, *, inventory_item_id: int, available: int) -> None:
        # Setting an absolute level is idempotent, so a transport failure may be retried.
        resp = await self._upstream.post(
            "/inventory_levels/set.json",
            json={"inventory_item_id": inventory_item_id, "available": available},
            headers=self._headers,
            retry_safe=True,
        )
        if resp.status_code >= 300:
            raise StorefrontRefused(f"The storefront refused the level ({resp.status_code}): {resp.text[:300]}")

    async def create_fulfillment(self, *, order_id: str, fulfillment: dict[str, Any]) -> int | None:
        """``POST /orders/{id}/fulfillments.json``; the shop's fulfilment id. Not retried on a transport
        failure here (a fulfilment is not idempotent at the shop): the pusher looks first before it tries again."""
        resp = await self._upstream.post(
            f"/orders/{order_id}/fulfillments.json", json={"fulfillment": fulfillment}, headers=self._headers
        )
        if resp.status_code >= 300:
            raise StorefrontRefused(f"The storefront refused the fulfilment ({resp.status_code}): {resp.text[:300]}")
        created = resp.json().get("fulfillment") or {}
        return created.get("id") if isinstance(created.get("id"), int) else None

    async def fulfillments(self, *, order_id: str) -> list[dict[str, Any]]:
        """The order's fulfilments at the shop (``GET /orders/{id}/fulfillments.json``)."""
        resp = await self._upstream.get(f"/orders/{order_id}/fulfillments.json", headers=self._headers)
        if resp.status_code >= 300:
            raise StorefrontRefused(f"The storefront refused the read ({resp.status_code}): {resp.text[:300]}")
        found = resp.json().get("fulfillments")
        return [f for f in found if isinstance(f, dict)] if isinstance(found, list) else []
