"""The orders process as the fulfilment process sees it: an order, its channel, lines and status."""

from __future__ import annotations

from urllib.parse import quote

from contracts import Order
from process_apis.fulfillment.clients.base import BaseClient, read


class OrdersClient(BaseClient):
    system = "orders"

    async def get_order(self, order_id: str) -> Order | None:
        """None when the orders process has no such order."""
        resp = await self._read(f"/v1/orders/{quote(order_id, safe='')}", action="read the order")
        return read(Order, resp, system=self.system) if resp is not None else None


__all__ = ["OrdersClient"]
