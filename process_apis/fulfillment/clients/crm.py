"""The CRM's customer notices (idempotent by kind and reference)."""

from __future__ import annotations

from process_apis.fulfillment.clients.base import BaseClient


class CrmClient(BaseClient):
    system = "crm"

    async def notify_customer(self, *, customer_id: str, kind: str, reference: str, message: str) -> None:
        body = {"customer_id": customer_id, "kind": kind, "reference": reference, "message": message[:1000]}
        await self._write("/v1/customer-notices", body, action="record the customer notice")


__all__ = ["CrmClient"]
