"""Marketplace order intake and order status, in business terms, for every version of the dialect.

A marketplace order is the partner's (the token's ``partner_id``): it is billed to the partner's
ERP account, its seller SKUs are the partner's listings, and only that partner can read it back.
The service works on the version-neutral ``Submission`` and answers a ``Receipt`` or an
``OrderView``; each version's mapping words them, and its ``Dialect`` words the problems. So an
order submitted on one version is the same stored order on every version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import OrderCreate
from experience_apis.marketplace import intake_repository as intake_sql
from experience_apis.marketplace import mapping
from experience_apis.marketplace.clients import OrdersApi
from experience_apis.marketplace.directory import PartnerAccountRef
from experience_apis.marketplace.intake_repository import IntakeKey
from experience_apis.marketplace.mapping import Dialect, OrderView, Receipt, Submission
from experience_apis.marketplace.repository import IntakeStore, MarketplaceRepository, SubmittedOrderKey
from service_kit.errors import BusinessRuleViolation, Conflict, Forbidden, InterchangeError, NotFound

log = structlog.get_logger("experience_apis.marketplace")

ACCEPTED = 202


async def submit_order(
    *,
    store: IntakeStore,
    orders: OrdersApi,
    partner_id: str,
    submission: Submission,
    dialect: Dialect,
    key: IntakeKey | None,
) -> Receipt:
    """Take the order in once. With an Idempotency-Key, a retry replays the first answer (the
    kit's semantics: another body under the key is a 422, a request still running a 409). The same
    order sent again without a key, or under a new one, answers the same order reference with the
    order's current status (ACCEPTED once accepted), read from the orders API like a status read;
    reusing its id for another order is a conflict.

    The key's claim, then its answer with the order's row, each go in the writer's next batch
    (group commit): the answer and the row commit together, or neither does; a failure frees the key."""
    if key is not None and (replay := await store.claim(key)) is not None:
        return Receipt.model_validate(replay.body)
    try:
        async with store.reading() as repository:
            found = await _look_up(repository=repository, partner_id=partner_id, submission=submission, dialect=dialect)
        if isinstance(found, Receipt):
            # Sent again (no key, or a new one): the same order, as it stands now (not as it was taken in).
            current = await orders.get_order(order_id=found.order_id, partner_id=partner_id)
            receipt = found if current is None else found.model_copy(update={"status": current.status})
            return await _record(store=store, key=key, receipt=receipt, row=None, dialect=dialect)
        receipt, row = await _hand_over(
            orders=orders, partner_id=partner_id, submission=submission, new=found, dialect=dialect
        )
        return await _record(store=store, key=key, receipt=receipt, row=row, dialect=dialect)
    except BaseException:
        if key is not None:
            await store.abandon(key)
        raise


@dataclass(frozen=True, slots=True)
class _NewOrder:
    canonical: OrderCreate
    items: list[dict[str, Any]]
    fingerprint: str
    seller_skus: dict[str, str]


async def _look_up(
    *, repository: MarketplaceRepository[AsyncConnection], partner_id: str, submission: Submission, dialect: Dialect
) -> Receipt | _NewOrder:
    """The order's receipt when it was submitted already, else the canonical order to hand over
    (the partner's account and listings checked)."""
    account = await _partner_account(repository, partner_id)
    fingerprint = submission.fingerprint()
    submitted = await repository.find_submitted_order(partner_id, submission.marketplace_order_id)
    if submitted is not None:
        return _resubmitted(submitted, fingerprint, dialect)

    if submission.currency != account.currency:
        raise BusinessRuleViolation(
            f"Orders of this partner are billed in {account.currency}.",
            errors=[{"pointer": dialect.pointer("#/currency"), "in": "body", "detail": f"Use {account.currency}."}],
        )
    skus = await repository.listed_skus(partner_id, (item.seller_sku for item in submission.items))
    if unlisted := dialect.errors(mapping.unlisted_item_errors(submission, skus), seller_skus={}):
        pointers = ", ".join(e["pointer"] for e in unlisted[:5])
        raise BusinessRuleViolation(f"Some seller SKUs are not listed for this partner: {pointers}.", errors=unlisted)

    canonical = mapping.to_canonical_order(submission, customer_id=account.customer_id, skus=skus)
    items = mapping.stored_items(submission, canonical)
    return _NewOrder(canonical, items, fingerprint, mapping.seller_skus_of(items))


async def _hand_over(
    *, orders: OrdersApi, partner_id: str, submission: Submission, new: _NewOrder, dialect: Dialect
) -> tuple[Receipt, dict[str, Any]]:
    """Hand the order to the orders API (no database connection held meanwhile); its receipt and
    the row to record."""
    try:
        accepted = await orders.submit_order(
            order=new.canonical,
            partner_id=partner_id,
            idempotency_key=mapping.idempotency_key(
                partner_id=partner_id, marketplace_order_id=submission.marketplace_order_id
            ),
        )
    except InterchangeError as exc:
        if exc.status >= 500:
            raise
        raise _in_dialect(exc, dialect=dialect, seller_skus=new.seller_skus) from None
    receipt = Receipt(
        marketplace_order_id=submission.marketplace_order_id, order_id=accepted.id, status=accepted.status
    )
    row = {
        "partner_id": partner_id,
        "marketplace_order_id": submission.marketplace_order_id,
        "order_id": accepted.id,
        "request_fingerprint": new.fingerprint,
        "items": new.items,
        "submitted_at": datetime.now(UTC),
    }
    return receipt, row


async def _record(
    *, store: IntakeStore, key: IntakeKey | None, receipt: Receipt, row: dict[str, Any] | None, dialect: Dialect
) -> Receipt:
    """The order's row (when new) and the key's answer (with a key), in the writer's next batch.
    When the batch cannot take them (a concurrent identical submission recorded the row first),
    they are written on their own: the row that is there answers, or is a conflict."""
    statements = [] if row is None else [intake_sql.record(row)]
    if key is not None:
        statements.append(intake_sql.answer(key, status_code=ACCEPTED, body=receipt))
    if not statements:
        return receipt

    async def on_its_own() -> Receipt:
        async with store.transaction() as repository:
            answered = receipt
            if row is not None:
                there = await repository.record_submitted_order(**row)
                answered = _resubmitted(there, row["request_fingerprint"], dialect).model_copy(
                    update={"status": receipt.status}
                )
            if key is not None:
                await repository.session.execute(*intake_sql.answer(key, status_code=ACCEPTED, body=answered))
        return answered

    return await store.writer.write(statements, written=receipt, one=on_its_own)


async def get_order_status(
    *, repository: MarketplaceRepository, orders: OrdersApi, partner_id: str, marketplace_order_id: str
) -> OrderView:
    """The partner's own order, as the orders API knows it now. Another partner's order is not
    found, exactly like a missing one."""
    is_partner, submitted = await repository.find_partners_submitted_order(partner_id, marketplace_order_id)
    if not is_partner:
        raise _not_a_partner()
    if submitted is None:
        raise _not_found(marketplace_order_id)
    order = await orders.get_order(order_id=submitted.order_id, partner_id=partner_id)
    if order is None or (order.partner_id is not None and order.partner_id != partner_id):
        log.warning("marketplace_order_missing_upstream", partner=partner_id, order_id=submitted.order_id)
        raise _not_found(marketplace_order_id)
    return OrderView(
        order=order, marketplace_order_id=marketplace_order_id, seller_skus=mapping.seller_skus_of(submitted.items)
    )


async def _partner_account(repository: MarketplaceRepository, partner_id: str) -> PartnerAccountRef:
    account = await repository.get_partner_account(partner_id)
    if account is None:
        raise _not_a_partner()
    return account


def _not_a_partner() -> Forbidden:
    return Forbidden("This client is not set up as a marketplace partner.")


def _resubmitted(submitted: SubmittedOrderKey, fingerprint: str, dialect: Dialect) -> Receipt:
    if submitted.request_fingerprint != fingerprint:
        raise Conflict(
            f"Marketplace order {submitted.marketplace_order_id!r} was already submitted with other contents; "
            "a different order needs its own marketplace_order_id.",
            errors=[
                {
                    "pointer": dialect.pointer("#/channel_order_id"),
                    "in": "body",
                    "detail": "Already used for another order.",
                }
            ],
        )
    return Receipt(marketplace_order_id=submitted.marketplace_order_id, order_id=submitted.order_id)


def _in_dialect(exc: InterchangeError, *, dialect: Dialect, seller_skus: dict[str, str]) -> InterchangeError:
    """The orders API's refusal as the partner's problem: its pointers and SKUs in the dialect."""
    return type(exc)(
        dialect.text(exc.detail, seller_skus=seller_skus),
        errors=dialect.errors(exc.errors, seller_skus=seller_skus),
        headers=exc.headers,
    )


def _not_found(marketplace_order_id: str) -> NotFound:
    return NotFound(f"No marketplace order {marketplace_order_id!r}.")
