"""The ERP backend port. The reference adapter persists in this service's own database; a real
ERP (SAP, Dynamics, NetSuite) is one more adapter implementing the same Protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from contracts import (
    CreditMemo,
    Customer,
    CustomerStatus,
    Invoice,
    Money,
    Product,
    ProductStatus,
    Quantity,
    SalesOrder,
    SalesOrderCreate,
)
from system_apis.erp.schemas import CreditMemoCreate, CustomerTerms, InvoiceCreate, ItemStockPolicy, PriceList


class ErpBackend(Protocol):
    async def get_products(self, skus: Sequence[str]) -> list[Product]:
        """The products among these SKUs that the ERP knows, in the order asked."""
        ...

    async def get_customer(self, customer_id: str) -> Customer | None: ...

    async def net_unit_prices(self, *, customer_id: str, skus: Sequence[str]) -> dict[str, Money]:
        """The price per canonical unit this customer pays, its price list applied."""
        ...

    async def get_sales_order(self, number: str) -> SalesOrder | None: ...

    async def find_sales_order(self, external_reference: str) -> SalesOrder | None: ...

    async def create_sales_order(self, order: SalesOrderCreate) -> SalesOrder:
        """Raises ``Conflict`` when another sales order already holds the external reference."""
        ...

    async def cancel_sales_order(self, number: str) -> SalesOrder | None: ...

    async def stock_policies(self, *, after: str | None, limit: int) -> tuple[list[ItemStockPolicy], str | None]:
        """Every item's status and safety stock, ``limit`` per page by SKU; the next page's cursor."""
        ...

    async def change_stock_policy(
        self, *, sku: str, status: ProductStatus | None, safety_stock: int | None
    ) -> ItemStockPolicy | None:
        """Change it and announce ``item.changed`` in the same transaction; None for an unknown SKU."""
        ...

    async def change_list_price(self, *, sku: str, list_price_cents: int) -> bool:
        """Change an item's list price (False: unknown SKU); price lists are announced after."""
        ...

    # Master data as snapshots with versions, and its changes (announced in the outbox).

    async def customer_terms(self, *, after: str | None, limit: int) -> tuple[list[CustomerTerms], str | None]: ...

    async def get_customer_terms(self, customer_id: str) -> CustomerTerms | None: ...

    async def price_lists(self, codes: Sequence[str] | None = None) -> list[PriceList]: ...

    async def change_customer(
        self, *, customer_id: str, status: CustomerStatus | None, credit_limit_cents: int | None
    ) -> CustomerTerms | None: ...

    async def announce_price_lists(self) -> None: ...

    # Batch booking.

    async def find_sales_orders(self, external_references: Sequence[str]) -> dict[str, SalesOrder]:
        """The booked orders among these external references, by reference."""
        ...

    async def get_customers(self, customer_ids: Sequence[str]) -> dict[str, Customer]: ...

    async def items_for_booking(self, skus: Sequence[str]) -> dict[str, tuple[str, Product]]:
        """SKU -> (the ERP's item number, the product), for the SKUs the ERP knows."""
        ...

    async def book_sales_orders(
        self, orders: Sequence[SalesOrderCreate], *, item_numbers: dict[str, str]
    ) -> dict[str, SalesOrder]:
        """Book validated orders (distinct references, SKUs in ``item_numbers``) together; the
        booked ones by reference (one booked meanwhile by another request is left out)."""
        ...

    # Billing: invoices per shipment, credit memos per return.

    async def lock_sales_order_for_billing(self, order_reference: str) -> bool:
        """Hold the sales order against other billing until the transaction ends; False: no such order."""
        ...

    async def find_invoice(self, shipment_id: str) -> Invoice | None: ...

    async def get_invoice(self, number: str) -> Invoice | None: ...

    async def find_invoices(self, order_reference: str) -> list[Invoice]: ...

    async def open_to_invoice(self, order_reference: str) -> dict[str, Quantity]:
        """SKU -> ordered and not invoiced yet."""
        ...

    async def create_invoice(self, request: InvoiceCreate) -> Invoice:
        """Book it (the service checked that it fits what is open); ``Conflict`` when booked meanwhile."""
        ...

    async def find_credit_memo(self, return_id: str) -> CreditMemo | None: ...

    async def find_credit_memos(self, order_reference: str) -> list[CreditMemo]: ...

    async def open_to_credit(self, order_reference: str) -> dict[str, Quantity]:
        """SKU -> invoiced and not credited yet."""
        ...

    async def create_credit_memo(self, request: CreditMemoCreate) -> CreditMemo:
        """Book it (the service checked that it fits what is open); ``Conflict`` when booked meanwhile."""
        ...
