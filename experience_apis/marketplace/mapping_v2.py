"""Marketplace dialect version 2 <-> the version-neutral order (``mapping.py``). Pure functions.

to_submission           MarketplaceOrderCreateV2 -> Submission (the order's currency is its lines')
to_dialect_pointer      "#/lines/1/quantity" -> "#/lines/1/quantity"; "#/currency" -> the first price's
to_marketplace_accepted Receipt -> MarketplaceOrderAcceptedV2
to_marketplace_order    OrderView -> MarketplaceOrderReadV2, in the partner's own seller SKUs
"""

from __future__ import annotations

from contracts import Money as CanonicalMoney
from experience_apis.marketplace import mapping
from experience_apis.marketplace.mapping import Dialect, OrderView, Receipt, Submission, SubmittedItem
from experience_apis.marketplace.schemas_v2 import (
    MarketplaceOrderAcceptedV2,
    MarketplaceOrderCreateV2,
    MarketplaceOrderReadV2,
    Money,
    OrderLineReadV2,
)
from service_kit.errors import UnprocessableContent

#: Where partners follow an order: the gateway's path for this API version.
STATUS_URL_PREFIX = "/marketplace/v2/orders/"

# Version 2 has no order-level currency: the order is in its lines' currency, so a canonical
# currency problem points at the first line's price.
_TOP_LEVEL = {"channel_order_id": "#/marketplace_order_id", "currency": "#/lines/0/item_price/currency"}
_LINE = {"sku": "seller_sku", "quantity": "quantity"}


def to_submission(order: MarketplaceOrderCreateV2) -> Submission:
    """Every line's price must be in one currency, which becomes the order's (422 otherwise, at
    each line that differs from the first)."""
    currency = order.lines[0].item_price.currency
    mixed = [
        {
            "pointer": f"#/lines/{i}/item_price/currency",
            "in": "body",
            "detail": f"Every line of an order is in one currency; the first line is in {currency}.",
        }
        for i, line in enumerate(order.lines)
        if line.item_price.currency != currency
    ]
    if mixed:
        raise UnprocessableContent("The lines of this order are in more than one currency.", errors=mixed)
    return Submission(
        marketplace_order_id=order.marketplace_order_id,
        currency=currency,
        buyer=order.buyer,
        shipping_address=order.shipping_address,
        items=tuple(
            SubmittedItem(seller_sku=line.seller_sku, quantity=line.quantity, item_price=line.item_price.amount)
            for line in order.lines
        ),
    )


def to_dialect_pointer(pointer: str) -> str:
    """A canonical OrderCreate pointer as the partner's version 2 field."""
    return mapping.translate_pointer(pointer, top=_TOP_LEVEL, lines="lines", line_fields=_LINE)


DIALECT = Dialect(version="v2", pointer=to_dialect_pointer)


def to_marketplace_accepted(receipt: Receipt) -> MarketplaceOrderAcceptedV2:
    return MarketplaceOrderAcceptedV2(
        marketplace_order_id=receipt.marketplace_order_id,
        order_reference=receipt.order_id,
        order_status=mapping.to_marketplace_status(receipt.status),
        status_url=f"{STATUS_URL_PREFIX}{receipt.marketplace_order_id}",
    )


def _money(value: CanonicalMoney | None) -> Money | None:
    return Money(amount=value.amount, currency=value.currency) if value else None


def to_marketplace_order(view: OrderView) -> MarketplaceOrderReadV2:
    """Canonical SKUs are shown as the partner's seller SKUs; a SKU it does not know, as is."""
    order, skus = view.order, view.seller_skus
    return MarketplaceOrderReadV2(
        marketplace_order_id=view.marketplace_order_id,
        order_reference=order.id,
        order_status=mapping.to_marketplace_status(order.status),
        status_reason=DIALECT.text(order.status_reason, seller_skus=skus) if order.status_reason else None,
        status_reason_code=order.status_reason_code,
        seller_order_number=order.erp_order_number,
        total=_money(order.total),
        lines=[
            OrderLineReadV2(
                seller_sku=skus.get(line.sku, line.sku),
                quantity=mapping.whole(line.quantity.amount),
                unit_price=_money(line.unit_price),
            )
            for line in sorted(order.lines, key=lambda line: line.line_no)
        ],
    )
