"""The master data other services keep a copy of, in business terms: customer terms and price
lists as versioned snapshots, and changes to customers (announced as customer.changed)."""

from __future__ import annotations

from collections.abc import Sequence

from service_kit.errors import BusinessRuleViolation, NotFound
from system_apis.erp.backend import ErpBackend
from system_apis.erp.schemas import CustomerTerms, CustomerTermsList, CustomerUpdate, PriceListList


async def list_customer_terms(*, backend: ErpBackend, after: str | None, limit: int) -> CustomerTermsList:
    items, next_after = await backend.customer_terms(after=after, limit=limit)
    return CustomerTermsList(items=items, next_after=next_after)


async def get_customer_terms(*, backend: ErpBackend, customer_id: str) -> CustomerTerms:
    terms = await backend.get_customer_terms(customer_id)
    if terms is None:
        raise NotFound(f"No customer {customer_id!r} in the ERP.")
    return terms


async def list_price_lists(*, backend: ErpBackend, codes: Sequence[str] | None) -> PriceListList:
    return PriceListList(items=await backend.price_lists(codes))


async def change_customer(*, backend: ErpBackend, customer_id: str, update: CustomerUpdate) -> CustomerTerms:
    """Block or unblock a customer, or change its credit limit (in cents of its currency)."""
    limit: int | None = None
    if update.credit_limit is not None:
        cents = update.credit_limit * 100
        if cents != cents.to_integral_value():
            raise BusinessRuleViolation(
                "The credit limit is kept in cents.",
                errors=[{"pointer": "#/credit_limit", "detail": "at most two decimals"}],
            )
        limit = int(cents)
    terms = await backend.change_customer(customer_id=customer_id, status=update.status, credit_limit_cents=limit)
    if terms is None:
        raise NotFound(f"No customer {customer_id!r} in the ERP.")
    return terms


__all__ = ["change_customer", "get_customer_terms", "list_customer_terms", "list_price_lists"]
