"""Marketplace dialect version 1 <-> the version-neutral order (``mapping.py``). Pure functions.

to_submission           MarketplaceOrderCreate -> Submission
to_dialect_pointer      "#/lines/1/sku" -> "#/order_items/1/seller_sku"
to_marketplace_accepted Receipt -> MarketplaceOrderAccepted
to_marketplace_order    OrderView -> MarketplaceOrderRead, in the partner's own seller SKUs
"""

from __future__ import annotations

from experience_apis.marketplace import mapping
from experience_apis.marketplace.mapping import Dialect, OrderView, Receipt, Submission, SubmittedItem
from experience_apis.marketplace.schemas import (
    MarketplaceOrderAccepted,
    MarketplaceOrderCreate,
    MarketplaceOrderRead,
    OrderItemRead,
    OrderTotal,
)

#: Where partners follow an order: the gateway's path for this API version.
STATUS_URL_PREFIX = "/marketplace/v1/orders/"

_TOP_LEVEL = {"channel_order_id": "#/marketplace_order_id", "currency": "#/currency_code"}
_LINE = {"sku": "seller_sku", "quantity": "quantity_ordered"}


def to_submission(order: MarketplaceOrderCreate) -> Submission:
    return Submission(
        marketplace_order_id=order.marketplace_order_id,
        currency=order.currency_code,
        buyer=order.buyer,
        shipping_address=order.shipping_address,
        items=tuple(
            SubmittedItem(seller_sku=item.seller_sku, quantity=item.quantity_ordered, item_price=item.item_price)
            for item in order.order_items
        ),
    )


def to_dialect_pointer(pointer: str) -> str:
    """A canonical OrderCreate pointer as the partner's version 1 field."""
    return mapping.translate_pointer(pointer, top=_TOP_LEVEL, lines="order_items", line_fields=_LINE)


DIALECT = Dialect(version="v1", pointer=to_dialect_pointer)


def to_marketplace_accepted(receipt: Receipt) -> MarketplaceOrderAccepted:
    return MarketplaceOrderAccepted(
        marketplace_order_id=receipt.marketplace_order_id,
        order_reference=receipt.order_id,
        order_status=mapping.to_marketplace_status(receipt.status),
        status_url=f"{STATUS_URL_PREFIX}{receipt.marketplace_order_id}",
    )


def to_marketplace_order(view: OrderView) -> MarketplaceOrderRead:
    """Canonical SKUs are shown as the partner's seller SKUs; a SKU it does not know, as is."""
    order, skus = view.order, view.seller_skus
    total = OrderTotal(amount=order.total.amount, currency_code=order.total.currency) if order.total else None
    return MarketplaceOrderRead(
        marketplace_order_id=view.marketplace_order_id,
        order_reference=order.id,
        order_status=mapping.to_marketplace_status(order.status),
        status_reason=DIALECT.text(order.status_reason, seller_skus=skus) if order.status_reason else None,
        status_reason_code=order.status_reason_code,
        seller_order_number=order.erp_order_number,
        order_total=total,
        order_items=[
            OrderItemRead(
                seller_sku=skus.get(line.sku, line.sku),
                quantity_ordered=mapping.whole(line.quantity.amount),
                unit_price=line.unit_price.amount if line.unit_price else None,
            )
            for line in sorted(order.lines, key=lambda line: line.line_no)
        ],
    )
