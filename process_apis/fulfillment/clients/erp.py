"""The ERP's billing as the fulfilment process sees it: invoices per shipment, credit memos per return."""

from __future__ import annotations

from typing import Any

from contracts import CreditMemo, Invoice
from process_apis.fulfillment.clients.base import BaseClient, read


def _lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"sku": line["sku"], "quantity": line["quantity"]} for line in lines]


class ErpClient(BaseClient):
    system = "erp"

    async def invoice_shipment(self, *, shipment_id: str, order_id: str, lines: list[dict[str, Any]]) -> Invoice:
        """Idempotent by shipment id: the same shipment again answers the invoice it got."""
        body = {"shipment_id": shipment_id, "order_reference": order_id, "lines": _lines(lines)}
        resp = await self._write("/v1/invoices", body, action="invoice the shipment")
        return read(Invoice, resp, system=self.system)

    async def credit_return(self, *, return_id: str, order_id: str, lines: list[dict[str, Any]]) -> CreditMemo:
        """Idempotent by return id."""
        body = {"return_id": return_id, "order_reference": order_id, "lines": _lines(lines)}
        resp = await self._write("/v1/credit-memos", body, action="credit the return")
        return read(CreditMemo, resp, system=self.system)


__all__ = ["ErpClient"]
