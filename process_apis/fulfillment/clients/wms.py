"""The WMS as the fulfilment process sees it: stock leaving with a 3PL's shipment, returned goods
received. Both idempotent by the shipment or return id; ``publish_event`` is off (this process
is the one that would hear the event)."""

from __future__ import annotations

from typing import Any

from process_apis.fulfillment.clients.base import BaseClient


class WmsClient(BaseClient):
    system = "wms"

    async def ship(
        self,
        *,
        shipment_id: str,
        order_id: str,
        warehouse: str,
        carrier: str,
        tracking_number: str,
        lines: list[dict[str, Any]],
    ) -> None:
        body = {
            "shipment_id": shipment_id,
            "reference": order_id,
            "warehouse": warehouse,
            "carrier": carrier,
            "tracking_number": tracking_number,
            "lines": [{"sku": line["sku"], "quantity": line["quantity"]} for line in lines],
            "publish_event": False,
        }
        await self._write("/v1/shipments", body, action="record the shipment")

    async def receive_return(
        self, *, return_id: str, order_id: str, warehouse: str, lines: list[dict[str, Any]]
    ) -> None:
        body = {
            "return_id": return_id,
            "reference": order_id,
            "warehouse": warehouse,
            "lines": [
                {"sku": line["sku"], "quantity": line["quantity"], "condition": line["condition"]} for line in lines
            ],
            "publish_event": False,
        }
        await self._write("/v1/return-receipts", body, action="receive the return")


__all__ = ["WmsClient"]
