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
    """One result per entry, in order; the caller's transaction commits the booked ones together.

    Booking comes first and the booked references are looked up after, only for the entries
    that were not booked now (refused ones, or references taken): a batch of new orders, the
    usual one, costs four statements (customers, items, headers, lines)."""
    customers = await backend.get_customers([entry.customer_id for entry in entries])
    items = await backend.items_for_booking([line.sku for entry in entries for line in entry.lines])
    products = {sku: product for sku, (_, product) in items.items()}
    refusals: dict[int, list[rules.Error]] = {}
    to_book: dict[str, int] = {}  # accepted, by reference: the index of its first valid entry
    for index, entry in enumerate(entries):
        if entry.external_reference in to_book:
            continue  # a repeat of an entry booked by this call: answered after booking
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
            refusals[index] = errors
        else:
            to_book[entry.external_reference] = index
    created = await backend.book_sales_orders(
        [entries[index] for index in to_book.values()],
        item_numbers={sku: item_no for sku, (item_no, _) in items.items()},
    )
    unbooked = [e.external_reference for e in entries if e.external_reference not in created]
    booked = await backend.find_sales_orders(unbooked) if unbooked else {}
    return [
        _outcome(entry, index, created, booked, to_book, refusals.get(index)) for index, entry in enumerate(entries)
    ]


def _outcome(
    entry: SalesOrderCreate,
    index: int,
    created: dict[str, SalesOrder],
    booked: dict[str, SalesOrder],
    to_book: dict[str, int],
    errors: list[rules.Error] | None,
) -> SalesOrderBatchEntry:
    """What the single-order operation would answer: an order booked before (or meanwhile) under
    the reference is existing or a conflict, whatever the rules say now; else refused or created."""
    reference = entry.external_reference
    existing = booked.get(reference)
    if existing is None and reference in created and index > to_book[reference]:
        existing = created[reference]  # a repeat, later in this batch, of an entry it booked
    if existing is not None:
        if same_order(existing, entry):
            return SalesOrderBatchEntry(
                external_reference=reference, outcome=BatchOutcome.existing, sales_order=existing
            )
        return _other_content(reference, existing)
    if errors:
        return _refused(entry, errors)
    order = created.get(reference)
    if order is None:
        return _conflict(
            reference,
            f"A sales order for external reference {reference!r} is being booked by another request; "
            "send this entry again to get it.",
        )
    return SalesOrderBatchEntry(external_reference=reference, outcome=BatchOutcome.created, sales_order=order)


__all__ = ["place_sales_orders"]
