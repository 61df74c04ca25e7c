"""Booking many sales orders in one call, as real ERPs offer it (OData ``$batch``, NetSuite
``addList``, Odoo ``create`` with a list, SAP IDoc packets): each entry is booked once per
external reference and on its own, so a refused entry fails only itself.

The facts every entry is checked against (booked references, customers, items) are read once
for the whole batch; then each entry gets the outcome the single-order operation would give it:
created, existing (same content), refused (422, with the fields to fix) or conflict (409).
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts import BatchOutcome, EntryProblem, SalesOrderBatchEntry, SalesOrderCreate
from system_apis.erp import rules
from system_apis.erp.backend import ErpBackend
from system_apis.erp.service import same_order


def _conflict(reference: str, detail: str) -> SalesOrderBatchEntry:
    problem = EntryProblem(title="Conflict", status=409, detail=detail)
    return SalesOrderBatchEntry(external_reference=reference, outcome=BatchOutcome.conflict, problem=problem)


async def place_sales_orders(*, backend: ErpBackend, entries: Sequence[SalesOrderCreate]) -> list[SalesOrderBatchEntry]:
    """One result per entry, in order; the caller's transaction commits the booked ones together."""
    booked = await backend.find_sales_orders([entry.external_reference for entry in entries])
    customers = await backend.get_customers([entry.customer_id for entry in entries])
    skus = list(dict.fromkeys(line.sku for entry in entries for line in entry.lines))
    products = {product.sku: product for product in await backend.get_products(skus)}
    results: list[SalesOrderBatchEntry] = []
    for entry in entries:
        reference = entry.external_reference
        existing = booked.get(reference)
        if existing is not None:
            if same_order(existing, entry):
                results.append(
                    SalesOrderBatchEntry(
                        external_reference=reference, outcome=BatchOutcome.existing, sales_order=existing
                    )
                )
            else:
                results.append(
                    _conflict(
                        reference,
                        f"Sales order {existing.number} already exists for external reference {reference!r} "
                        "with other customer, currency or lines.",
                    )
                )
            continue
        errors = (
            rules.customer_errors(
                customers.get(entry.customer_id),
                customer_id=entry.customer_id,
                currency=entry.currency,
                must_be_active=True,
            )
            + rules.line_errors(entry.lines, products, must_be_active=True)
            + rules.price_errors(entry.lines, currency=entry.currency)
        )
        if errors:
            problem = EntryProblem(
                title="Business rule violation", status=422, detail=" ".join(e["detail"] for e in errors), errors=errors
            )
            results.append(
                SalesOrderBatchEntry(external_reference=reference, outcome=BatchOutcome.refused, problem=problem)
            )
            continue
        order = await backend.book_sales_order(entry)
        if order is None:
            results.append(
                _conflict(
                    reference,
                    f"A sales order for external reference {reference!r} is being booked by another request; "
                    "send this entry again to get it.",
                )
            )
            continue
        booked[reference] = order
        results.append(
            SalesOrderBatchEntry(external_reference=reference, outcome=BatchOutcome.created, sales_order=order)
        )
    return results


__all__ = ["place_sales_orders"]
