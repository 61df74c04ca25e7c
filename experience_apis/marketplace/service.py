"""Marketplace order intake and order status, in business terms, for every version of the dialect.

A marketplace order is the partner's (the token's ``partner_id``): it is billed to the partner's
ERP account, its seller SKUs are the partner's listings, and only that partner can read it back.
The service works on the version-neutral ``Submission`` and answers a ``Receipt`` or an
``OrderView``; each version's mapping words them, and its ``Dialect`` words the problems. So an
order submitted on one version is the same stored order on every version.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from experience_apis.marketplace import mapping
from experience_apis.marketplace.clients import OrdersApi
from experience_apis.marketplace.directory import PartnerAccountRef
from experience_apis.marketplace.mapping import Dialect, OrderView, Receipt, Submission
from experience_apis.marketplace.repository import IntakeStore, MarketplaceRepository, SubmittedOrderKey
from service_kit.errors import BusinessRuleViolation, Conflict, Forbidden, InterchangeError, NotFound
from service_kit.idempotency import Idempotency

log = structlog.get_logger("experience_apis.marketplace")

ACCEPTED = 202


async def submit_order(
    *,
    store: IntakeStore,
    orders: OrdersApi,
    partner_id: str,
    submission: Submission,
    dialect: Dialect,
    idem: Idempotency | None,
) -> Receipt:
    """Take the order in once. With an Idempotency-Key, a retry replays the first answer (the
    kit's semantics: another body under the key is a 422, a request still running a 409). The same
    order sent again without a key, or under a new one, answers the same order reference with the
    order's current status (ACCEPTED once accepted), read from the orders API like a status read;
    reusing its id for another order is a conflict."""
    if idem is not None and (replay := await idem.start()) is not None:
        return Receipt.model_validate(replay.body)
    # One transaction: the order's row and the key's answer commit together, or neither does.
    async with store.transaction() as repository:
        receipt = await _take_in(
            repository=repository, orders=orders, partner_id=partner_id, submission=submission, dialect=dialect
        )
        if idem is not None:
            # The kit's finish is one Core statement (``execute``), which a connection runs as a session would.
            await idem.finish(
                repository.session,  # type: ignore[arg-type]
                status_code=ACCEPTED,
                body=receipt.model_dump(mode="json"),
            )
    return receipt


async def _take_in(
    *,
    repository: MarketplaceRepository,
    orders: OrdersApi,
    partner_id: str,
    submission: Submission,
    dialect: Dialect,
) -> Receipt:
    """Map the order to the canonical one and hand it to the orders API, unless it already was."""
    account = await _partner_account(repository, partner_id)
    fingerprint = submission.fingerprint()
    submitted = await repository.find_submitted_order(partner_id, submission.marketplace_order_id)
    if submitted is not None:
        # Sent again (no key, or a new one): the same order, as it stands now (not as it was taken in).
        receipt = _resubmitted(submitted, fingerprint, dialect)
        current = await orders.get_order(order_id=receipt.order_id, partner_id=partner_id)
        return receipt if current is None else receipt.model_copy(update={"status": current.status})

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
    try:
        accepted = await orders.submit_order(
            order=canonical,
            partner_id=partner_id,
            idempotency_key=mapping.idempotency_key(
                partner_id=partner_id, marketplace_order_id=submission.marketplace_order_id
            ),
        )
    except InterchangeError as exc:
        if exc.status >= 500:
            raise
        raise _in_dialect(exc, dialect=dialect, seller_skus=mapping.seller_skus_of(items)) from None

    row = await repository.record_submitted_order(
        partner_id=partner_id,
        marketplace_order_id=submission.marketplace_order_id,
        order_id=accepted.id,
        request_fingerprint=fingerprint,
        items=items,
        submitted_at=datetime.now(UTC),
    )
    log.info(
        "marketplace_order_submitted",
        partner=partner_id,
        marketplace_order_id=submission.marketplace_order_id,
        order_id=row.order_id,
        dialect=dialect.version,
    )
    return _resubmitted(row, fingerprint, dialect).model_copy(update={"status": accepted.status})


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
