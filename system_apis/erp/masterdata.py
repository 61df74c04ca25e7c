"""The master data other services keep a copy of, in business terms: customer terms and price
lists as versioned snapshots, and changes to customers (announced as customer.changed)."""

from __future__ import annotations

import re
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


#: What a price list code looks like (the published contract takes any string; anything else is a 422).
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._\-]{0,19}$")


async def list_price_lists(*, backend: ErpBackend, codes: Sequence[str] | None) -> PriceListList:
    errors = [
        {
            "pointer": f"#/code/{index}",
            "in": "query",
            "detail": "upper-case letters, digits, '.', '_' or '-', at most 20",
        }
        for index, code in enumerate(codes or ())
        if not _CODE.match(code)
    ]
    if errors:
        raise BusinessRuleViolation(
            "Fix the price list codes asked for: " + ", ".join(e["pointer"] for e in errors) + ".", errors=errors
        )
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
