"""Marketplace order intake and order status, in business terms.

A marketplace order is the partner's (the token's ``partner_id``): it is billed to the partner's
ERP account, its seller SKUs are the partner's listings, and only that partner can read it back.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import structlog

from experience_apis.marketplace import mapping
from experience_apis.marketplace.clients import OrdersApi
from experience_apis.marketplace.models import PartnerAccount, SubmittedOrder
from experience_apis.marketplace.repository import MarketplaceRepository
from experience_apis.marketplace.schemas import MarketplaceOrderAccepted, MarketplaceOrderCreate, MarketplaceOrderRead
from service_kit.errors import BusinessRuleViolation, Conflict, Forbidden, InterchangeError, NotFound

log = structlog.get_logger("experience_apis.marketplace")


async def submit_order(
    *, repository: MarketplaceRepository, orders: OrdersApi, partner_id: str, order: MarketplaceOrderCreate
) -> MarketplaceOrderAccepted:
    """Map the order to the canonical one and hand it to the orders API. Submitting the same
    order again answers the first answer; reusing its id for another order is a conflict."""
    account = await _partner_account(repository, partner_id)
    fingerprint = _fingerprint(order)
    submitted = await repository.find_submitted_order(partner_id, order.marketplace_order_id)
    if submitted is not None:
        return _resubmitted(submitted, fingerprint)

    if order.currency_code != account.currency:
        raise BusinessRuleViolation(
            f"Orders of this partner are billed in {account.currency}.",
            errors=[{"pointer": "#/currency_code", "in": "body", "detail": f"Use {account.currency}."}],
        )
    skus = await repository.listed_skus(partner_id, (item.seller_sku for item in order.order_items))
    if errors := mapping.unmapped_item_errors(order, skus):
        pointers = ", ".join(e["pointer"] for e in errors[:5])
        raise BusinessRuleViolation(f"Some seller SKUs are not listed for this partner: {pointers}.", errors=errors)

    canonical = mapping.to_canonical_order(order, customer_id=account.customer_id, skus=skus)
    items = [
        {
            "seller_sku": item.seller_sku,
            "sku": line.sku,
            "quantity_ordered": item.quantity_ordered,
            "item_price": item.item_price,
        }
        for item, line in zip(order.order_items, canonical.lines, strict=True)
    ]
    try:
        accepted = await orders.submit_order(
            order=canonical,
            partner_id=partner_id,
            idempotency_key=mapping.idempotency_key(
                partner_id=partner_id, marketplace_order_id=order.marketplace_order_id
            ),
        )
    except InterchangeError as exc:
        if exc.status >= 500:
            raise
        raise _in_dialect(exc, seller_skus=mapping.seller_skus_of(items)) from None

    row = await repository.record_submitted_order(
        partner_id=partner_id,
        marketplace_order_id=order.marketplace_order_id,
        order_id=accepted.id,
        request_fingerprint=fingerprint,
        items=items,
        submitted_at=datetime.now(UTC),
    )
    log.info(
        "marketplace_order_submitted",
        partner=partner_id,
        marketplace_order_id=order.marketplace_order_id,
        order_id=row.order_id,
    )
    return _resubmitted(row, fingerprint)


async def get_order_status(
    *, repository: MarketplaceRepository, orders: OrdersApi, partner_id: str, marketplace_order_id: str
) -> MarketplaceOrderRead:
    """The partner's own order, as the orders API knows it now. Another partner's order is not
    found, exactly like a missing one."""
    await _partner_account(repository, partner_id)
    submitted = await repository.find_submitted_order(partner_id, marketplace_order_id)
    if submitted is None:
        raise _not_found(marketplace_order_id)
    order = await orders.get_order(order_id=submitted.order_id, partner_id=partner_id)
    if order is None or (order.partner_id is not None and order.partner_id != partner_id):
        log.warning("marketplace_order_missing_upstream", partner=partner_id, order_id=submitted.order_id)
        raise _not_found(marketplace_order_id)
    return mapping.to_marketplace_order(
        order, marketplace_order_id=marketplace_order_id, seller_skus=mapping.seller_skus_of(submitted.items)
    )


async def _partner_account(repository: MarketplaceRepository, partner_id: str) -> PartnerAccount:
    account = await repository.get_partner_account(partner_id)
    if account is None:
        raise Forbidden("This client is not set up as a marketplace partner.")
    return account


def _resubmitted(submitted: SubmittedOrder, fingerprint: str) -> MarketplaceOrderAccepted:
    if submitted.request_fingerprint != fingerprint:
        raise Conflict(
            f"Marketplace order {submitted.marketplace_order_id!r} was already submitted with other contents; "
            "a different order needs its own marketplace_order_id.",
            errors=[{"pointer": "#/marketplace_order_id", "in": "body", "detail": "Already used for another order."}],
        )
    return mapping.to_marketplace_accepted(
        marketplace_order_id=submitted.marketplace_order_id, order_id=submitted.order_id
    )


def _in_dialect(exc: InterchangeError, *, seller_skus: dict[str, str]) -> InterchangeError:
    """The orders API's refusal as the partner's problem: its pointers and SKUs in the dialect."""
    return type(exc)(
        mapping.to_dialect_text(exc.detail, seller_skus=seller_skus),
        errors=mapping.to_dialect_errors(exc.errors, seller_skus=seller_skus),
        headers=exc.headers,
    )


def _not_found(marketplace_order_id: str) -> NotFound:
    return NotFound(f"No marketplace order {marketplace_order_id!r}.")


def _fingerprint(order: MarketplaceOrderCreate) -> str:
    return hashlib.sha256(order.model_dump_json().encode()).hexdigest()
