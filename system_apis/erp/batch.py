"""Booking many sales orders in one call, as real ERPs offer it (OData ``$batch``, NetSuite
``addList``, Odoo ``create`` with a list, SAP IDoc packets): each entry is booked once per
external reference and on its own, so a refused entry fails only itself.

The facts every entry is checked against (booked references, customers, items) are read once
for the whole batch, and the accepted entries are booked together (one transaction, no re-read
per entry); each entry gets the outcome the single-order operation would give it: created,
existing (same content), refused (422, with the fields to fix) or conflict (409).
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts import BatchOutcome, EntryProblem, SalesOrder, SalesOrderBatchEntry, SalesOrderCreate
from system_apis.erp import rules
from system_apis.erp.backend import ErpBackend
from system_apis.erp.service import same_order


def _conflict(reference: str, detail: str) -> SalesOrderBatchEntry:
    problem = EntryProblem(title="Conflict", status=409, detail=detail)
    return SalesOrderBatchEntry(external_reference=reference, outcome=BatchOutcome.conflict, problem=problem)


def _other_content(reference: str, existing: SalesOrder) -> SalesOrderBatchEntry:
    return _conflict(
        reference,
        f"Sales order {existing.number} already exists for external reference {reference!r} "
        "with other customer, currency or lines.",
    )


def _refused(entry: SalesOrderCreate, errors: list[rules.Error]) -> SalesOrderBatchEntry:
    detail = " ".join(e["detail"] for e in errors)
    problem = EntryProblem(title="Business rule violation", status=422, detail=detail, errors=errors)
    return SalesOrderBatchEntry(
        external_reference=entry.external_reference, outcome=BatchOutcome.refused, problem=problem
    )


async def place_sales_orders(*, backend: ErpBackend, entries: Sequence[SalesOrderCreate]) -> list[SalesOrderBatchEntry]:
    """One result per entry, in order; the caller's transaction commits the booked ones together."""
    booked = await backend.find_sales_orders([entry.external_reference for entry in entries])
    customers = await backend.get_customers([entry.customer_id for entry in entries])
    items = await backend.items_for_booking([line.sku for entry in entries for line in entry.lines])
    products = {sku: product for sku, (_, product) in items.items()}
    results: list[SalesOrderBatchEntry | None] = []
    to_book: dict[str, SalesOrderCreate] = {}  # accepted, by reference; the first entry of a reference
    for entry in entries:
        reference = entry.external_reference
        existing = booked.get(reference)
        if existing is not None:
            results.append(
                SalesOrderBatchEntry(external_reference=reference, outcome=BatchOutcome.existing, sales_order=existing)
                if same_order(existing, entry)
                else _other_content(reference, existing)
            )
            continue
        if reference in to_book:
            results.append(None)  # a repeat of an entry booked by this call: answered after booking
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
            results.append(_refused(entry, errors))
            continue
        to_book[reference] = entry
        results.append(None)
    created = await backend.book_sales_orders(
        list(to_book.values()), item_numbers={sku: item_no for sku, (item_no, _) in items.items()}
    )
    answered: list[SalesOrderBatchEntry] = []
    for entry, result in zip(entries, results, strict=True):
        if result is not None:
            answered.append(result)
            continue
        reference = entry.external_reference
        order = created.get(reference)
        if order is None:
            answered.append(
                _conflict(
                    reference,
                    f"A sales order for external reference {reference!r} is being booked by another request; "
                    "send this entry again to get it.",
                )
            )
        elif to_book[reference] is entry:
            answered.append(
                SalesOrderBatchEntry(external_reference=reference, outcome=BatchOutcome.created, sales_order=order)
            )
        elif same_order(order, entry):
            answered.append(
                SalesOrderBatchEntry(external_reference=reference, outcome=BatchOutcome.existing, sales_order=order)
            )
        else:
            answered.append(_other_content(reference, order))
    return answered


__all__ = ["place_sales_orders"]
