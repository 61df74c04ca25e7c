"""The ERP as the orders process sees it: customers and items (intake checks, credit), price
quotes, and sales orders (the pivot) found, booked and cancelled by the order id."""

from __future__ import annotations

from collections.abc import Sequence

from contracts import Customer, Money, PriceQuote, Product, Quantity, SalesOrder, SalesOrderCreate
from contracts.common import CanonicalModel, CurrencyCode, Sku
from process_apis.orders.clients.base import BaseClient, is_refusal, path_part, read_body, refused, unexpected

#: The ERP answers at most this many SKUs per item lookup.
ITEMS_PER_LOOKUP = 100


class PriceQuoteLineRequest(CanonicalModel):
    sku: Sku
    quantity: Quantity


class PriceQuoteRequest(CanonicalModel):
    customer_id: str
    currency: CurrencyCode
    lines: list[PriceQuoteLineRequest]


class PriceQuoteResult(CanonicalModel):
    customer_id: str
    currency: CurrencyCode
    lines: list[PriceQuote]
    total: Money


class _Items(CanonicalModel):
    items: list[Product]


class _SalesOrders(CanonicalModel):
    items: list[SalesOrder]


class ErpClient(BaseClient):
    system = "erp"

    async def get_customer(self, customer_id: str) -> Customer | None:
        resp = await self._api.get(f"/v1/customers/{path_part(customer_id)}", **self._call())
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise unexpected(self.system, "a customer lookup", resp)
        return read_body(Customer, resp, system=self.system)

    async def find_items(self, skus: Sequence[str]) -> dict[str, Product]:
        """The products the ERP knows among ``skus``, by SKU (unknown ones are absent)."""
        wanted = sorted(set(skus))
        found: dict[str, Product] = {}
        for start in range(0, len(wanted), ITEMS_PER_LOOKUP):
            chunk = wanted[start : start + ITEMS_PER_LOOKUP]
            resp = await self._api.get("/v1/items", **self._call(params={"sku": chunk}))
            if resp.status_code != 200:
                raise unexpected(self.system, "an item lookup", resp)
            found.update((item.sku, item) for item in read_body(_Items, resp, system=self.system).items)
        return found

    async def quote_prices(self, request: PriceQuoteRequest, *, reference: str) -> PriceQuoteResult:
        # A quote stores nothing in the ERP: a POST that is safe to send again.
        resp = await self._api.post(
            "/v1/price-quotes",
            **self._call(json=request.model_dump(mode="json"), retry_safe=True),
        )
        if resp.status_code in (200, 201):
            return read_body(PriceQuoteResult, resp, system=self.system)
        if is_refusal(resp):
            raise refused(self.system, "price the order", resp)
        raise unexpected(self.system, "a price quote", resp)

    async def create_sales_order(self, sales_order: SalesOrderCreate) -> SalesOrder:
        """201 creates it; 200 is the one already created for the same external reference."""
        resp = await self._api.post(
            "/v1/sales-orders",
            **self._call(
                json=sales_order.model_dump(mode="json", exclude_none=True),
                idempotency_key=f"orders:{sales_order.external_reference}:sales-order",
            ),
        )
        if resp.status_code in (200, 201):
            return read_body(SalesOrder, resp, system=self.system)
        if is_refusal(resp):
            raise refused(self.system, "create the sales order", resp)
        raise unexpected(self.system, "a sales order", resp)

    async def find_sales_order(self, external_reference: str) -> SalesOrder | None:
        resp = await self._api.get("/v1/sales-orders", **self._call(params={"external_reference": external_reference}))
        if resp.status_code != 200:
            raise unexpected(self.system, "a sales order lookup", resp)
        found = read_body(_SalesOrders, resp, system=self.system).items
        return found[0] if found else None

    async def cancel_sales_order(self, number: str) -> SalesOrder:
        """Cancelling a cancelled order answers it as it is (the ERP is idempotent here)."""
        resp = await self._api.post(
            f"/v1/sales-orders/{path_part(number)}/cancel",
            **self._call(idempotency_key=f"orders:{number}:cancel"),
        )
        if resp.status_code == 200:
            return read_body(SalesOrder, resp, system=self.system)
        if resp.status_code == 404 or is_refusal(resp):
            raise refused(self.system, "cancel the sales order", resp)
        raise unexpected(self.system, "a sales order cancellation", resp)


__all__ = ["ITEMS_PER_LOOKUP", "ErpClient", "PriceQuoteLineRequest", "PriceQuoteRequest", "PriceQuoteResult"]
