"""The ERP as the orders process sees it: items (intake checks), its master data (customer
terms, price lists) as versioned snapshots for the copy prices and credit are decided on, and
sales orders (the pivot) booked in batches, found and cancelled by the order id."""

from __future__ import annotations

from collections.abc import Sequence

from contracts import (
    BatchOutcome,
    Customer,
    Money,
    PriceQuote,
    Product,
    ProductStatus,
    SalesOrder,
    SalesOrderBatchResult,
    SalesOrderCreate,
)
from contracts.common import CanonicalModel, CurrencyCode, Sku
from process_apis.orders.clients.base import BaseClient, Refused, is_refusal, path_part, read_body, refused, unexpected
from service_kit.errors import UpstreamUnavailable

#: The ERP answers at most this many SKUs per item lookup.
ITEMS_PER_LOOKUP = 100


class PriceQuoteResult(CanonicalModel):
    customer_id: str
    currency: CurrencyCode
    lines: list[PriceQuote]
    total: Money


class _Items(CanonicalModel):
    items: list[Product]


class _SalesOrders(CanonicalModel):
    items: list[SalesOrder]


class CustomerTerms(CanonicalModel):
    customer: Customer
    price_list: str
    version: int


class _CustomerTermsPage(CanonicalModel):
    items: list[CustomerTerms]
    next_after: str | None = None


class PriceListLine(CanonicalModel):
    sku: Sku
    unit: str
    unit_price: Money
    status: ProductStatus


class PriceList(CanonicalModel):
    code: str
    currency: CurrencyCode
    lines: list[PriceListLine]
    version: int


class _PriceLists(CanonicalModel):
    items: list[PriceList]


#: One entry's outcome in a batch: its sales order, or why it was not booked.
Booking = SalesOrder | Refused | UpstreamUnavailable


class ErpClient(BaseClient):
    system = "erp"

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

    async def get_customer_terms(self, customer_id: str) -> CustomerTerms | None:
        resp = await self._api.get(f"/v1/customer-terms/{path_part(customer_id)}", **self._call())
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise unexpected(self.system, "a customer terms lookup", resp)
        return read_body(CustomerTerms, resp, system=self.system)

    async def list_customer_terms(self, *, after: str | None = None) -> tuple[list[CustomerTerms], str | None]:
        params = {"limit": 500} | ({"after": after} if after else {})
        resp = await self._api.get("/v1/customer-terms", **self._call(params=params))
        if resp.status_code != 200:
            raise unexpected(self.system, "a customer terms snapshot", resp)
        page = read_body(_CustomerTermsPage, resp, system=self.system)
        return page.items, page.next_after

    async def price_lists(self, codes: Sequence[str] | None = None) -> list[PriceList]:
        """The price lists asked for (every one when None); unknown codes are left out."""
        params = {"code": list(codes)} if codes is not None else {}
        resp = await self._api.get("/v1/price-lists", **self._call(params=params))
        if resp.status_code != 200:
            raise unexpected(self.system, "a price list lookup", resp)
        return read_body(_PriceLists, resp, system=self.system).items

    async def book_sales_orders(self, sales_orders: Sequence[SalesOrderCreate]) -> dict[str, Booking]:
        """Books many sales orders in one call, each on its own: by external reference, the order
        booked (now or before), a ``Refused`` with the ERP's reason, or an ``UpstreamUnavailable``
        (a conflict: retried later, never a rejection). The call is safe to send again: every
        entry is idempotent by its external reference."""
        body = {"entries": [order.model_dump(mode="json", exclude_none=True) for order in sales_orders]}
        resp = await self._api.post("/v1/sales-order-batches", **self._call(json=body, retry_safe=True))
        if resp.status_code != 200:
            raise unexpected(self.system, "a sales order batch", resp)
        answers: dict[str, Booking] = {}
        for entry in read_body(SalesOrderBatchResult, resp, system=self.system).results:
            problem = entry.problem
            detail = problem.detail if problem and problem.detail else f"the ERP answered {entry.outcome}"
            if entry.outcome in (BatchOutcome.created, BatchOutcome.existing) and entry.sales_order is not None:
                answers[entry.external_reference] = entry.sales_order
            elif entry.outcome is BatchOutcome.refused:
                errors = problem.errors if problem else None
                answers[entry.external_reference] = Refused(self.system, detail, errors=errors)
            else:
                status = problem.status if problem else 409
                answers[entry.external_reference] = UpstreamUnavailable(
                    f"The erp service answered {status} ({entry.outcome}) to this sales order in a batch: {detail}"
                )
        return answers

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


__all__ = [
    "ITEMS_PER_LOOKUP",
    "Booking",
    "CustomerTerms",
    "ErpClient",
    "PriceList",
    "PriceListLine",
    "PriceQuoteResult",
]
