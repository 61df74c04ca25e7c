"""Marketplace dialect <-> canonical order. Pure functions: no I/O, no session, no clock.

to_canonical_order      MarketplaceOrderCreate + partner account + listings -> OrderCreate
unmapped_item_errors    the order items whose seller SKU the partner has not listed
to_marketplace_status   OrderStatus -> the marketplace's status word
to_marketplace_order    Order -> MarketplaceOrderRead, in the partner's own seller SKUs
to_dialect_pointer      "#/lines/1/sku" -> "#/order_items/1/seller_sku"
to_dialect_text         a canonical problem's text, in the partner's words, without internal URLs
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from contracts import Address, Order, OrderCreate, OrderLineCreate, OrderStatus, Quantity
from experience_apis.marketplace.schemas import (
    MarketplaceOrderAccepted,
    MarketplaceOrderCreate,
    MarketplaceOrderRead,
    MarketplaceOrderStatus,
    OrderItemRead,
    OrderTotal,
)

CHANNEL = "marketplace"
#: Where partners follow an order: the gateway's path for this API.
STATUS_URL_PREFIX = "/marketplace/v1/orders/"

_STATUS: dict[OrderStatus, MarketplaceOrderStatus] = {
    OrderStatus.received: MarketplaceOrderStatus.PENDING,
    OrderStatus.accepted: MarketplaceOrderStatus.ACCEPTED,
    OrderStatus.rejected: MarketplaceOrderStatus.REJECTED,
    OrderStatus.on_hold: MarketplaceOrderStatus.ON_HOLD,
    # Picking is the seller's business: the marketplace still sees an accepted order.
    OrderStatus.released: MarketplaceOrderStatus.ACCEPTED,
    OrderStatus.shipped: MarketplaceOrderStatus.SHIPPED,
    # Invoicing is the seller's business: the marketplace still sees a shipped order.
    OrderStatus.invoiced: MarketplaceOrderStatus.SHIPPED,
    OrderStatus.completed: MarketplaceOrderStatus.COMPLETED,
    OrderStatus.cancelled: MarketplaceOrderStatus.CANCELLED,
}

_TOP_LEVEL = {"channel_order_id": "marketplace_order_id", "currency": "currency_code"}
_ADDRESS = {"name": "recipient", "line1": "street", "city": "city", "postal_code": "zip", "country": "country_code"}
_LINE = {"sku": "seller_sku", "quantity": "quantity_ordered"}

_POINTER = re.compile(r"#/[A-Za-z0-9_~/\-]*")
# A URL, without the punctuation that ends the sentence around it.
_URL = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s<>\"')\]]*[^\s<>\"')\].,;:!?]", re.IGNORECASE)
_SKU_CHARS = r"A-Za-z0-9._\-"


def idempotency_key(*, partner_id: str, marketplace_order_id: str) -> str:
    """The key the orders API sees: the same marketplace order is always the same order."""
    return f"{CHANNEL}:{partner_id}:{marketplace_order_id}"


def unmapped_item_errors(order: MarketplaceOrderCreate, skus: Mapping[str, str]) -> list[dict[str, Any]]:
    """One error per order item whose seller SKU is not among the partner's listings."""
    return [
        {
            "pointer": f"#/order_items/{i}/seller_sku",
            "in": "body",
            "detail": f"Seller SKU {item.seller_sku!r} is not listed for this partner.",
        }
        for i, item in enumerate(order.order_items)
        if item.seller_sku not in skus
    ]


def to_canonical_order(order: MarketplaceOrderCreate, *, customer_id: str, skus: Mapping[str, str]) -> OrderCreate:
    """``skus`` maps each seller SKU of the order to its canonical SKU (see unmapped_item_errors).
    The marketplace's item prices are not carried over: the seller's prices come from the ERP."""
    address = order.shipping_address
    return OrderCreate(
        channel=CHANNEL,
        channel_order_id=order.marketplace_order_id,
        customer_id=customer_id,
        currency=order.currency_code,
        ship_to=Address(
            name=address.recipient,
            line1=address.street,
            city=address.city,
            postal_code=address.zip,
            country=address.country_code,
        ),
        lines=[
            OrderLineCreate(sku=skus[item.seller_sku], quantity=Quantity.of(item.quantity_ordered, "EA"))
            for item in order.order_items
        ],
    )


def to_marketplace_accepted(*, marketplace_order_id: str, order_id: str) -> MarketplaceOrderAccepted:
    return MarketplaceOrderAccepted(
        marketplace_order_id=marketplace_order_id,
        order_reference=order_id,
        order_status=MarketplaceOrderStatus.PENDING,
        status_url=f"{STATUS_URL_PREFIX}{marketplace_order_id}",
    )


def to_marketplace_status(status: OrderStatus) -> MarketplaceOrderStatus:
    return _STATUS[status]


def seller_skus_of(items: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Canonical SKU -> the seller SKU the partner used for it, from the submitted items (the
    first seller SKU wins when two listings of one product are in the same order)."""
    found: dict[str, str] = {}
    for item in items:
        found.setdefault(str(item["sku"]), str(item["seller_sku"]))
    return found


def to_marketplace_order(
    order: Order, *, marketplace_order_id: str, seller_skus: Mapping[str, str]
) -> MarketplaceOrderRead:
    """``seller_skus`` maps canonical SKUs back to this partner's seller SKUs; a SKU it does not
    know is shown as is."""
    total = OrderTotal(amount=order.total.amount, currency_code=order.total.currency) if order.total else None
    return MarketplaceOrderRead(
        marketplace_order_id=marketplace_order_id,
        order_reference=order.id,
        order_status=to_marketplace_status(order.status),
        status_reason=to_dialect_text(order.status_reason, seller_skus=seller_skus) if order.status_reason else None,
        seller_order_number=order.erp_order_number,
        order_total=total,
        order_items=[
            OrderItemRead(
                seller_sku=seller_skus.get(line.sku, line.sku),
                quantity_ordered=_whole(line.quantity.amount),
                unit_price=line.unit_price.amount if line.unit_price else None,
            )
            for line in sorted(order.lines, key=lambda line: line.line_no)
        ],
    )


def to_dialect_pointer(pointer: str) -> str:
    """A canonical OrderCreate pointer as the partner's field; a field the partner did not send
    (customer, channel) points at the whole request, ``#``."""
    parts = [p for p in pointer.removeprefix("#").split("/") if p]
    if not parts:
        return "#"
    head, rest = parts[0], parts[1:]
    if head in _TOP_LEVEL and not rest:
        return f"#/{_TOP_LEVEL[head]}"
    if head == "ship_to":
        if rest and rest[0] in _ADDRESS:
            return f"#/shipping_address/{_ADDRESS[rest[0]]}"
        return "#/shipping_address"
    if head == "lines":
        if not rest or not rest[0].isdigit():
            return "#/order_items"
        item = f"#/order_items/{rest[0]}"
        if len(rest) > 1 and rest[1] in _LINE:
            return f"{item}/{_LINE[rest[1]]}"
        return item
    return "#"


def to_dialect_text(text: str, *, seller_skus: Mapping[str, str]) -> str:
    """A canonical problem's text for the partner: pointers and SKUs in the dialect, and no
    internal addresses."""
    text = _URL.sub("an internal address", text)
    text = _POINTER.sub(lambda m: to_dialect_pointer(m.group(0)), text)
    known = sorted((sku for sku in seller_skus if sku), key=len, reverse=True)
    if known:
        pattern = re.compile(rf"(?<![{_SKU_CHARS}])({'|'.join(map(re.escape, known))})(?![{_SKU_CHARS}])")
        text = pattern.sub(lambda m: seller_skus[m.group(1)], text)
    return text


def to_dialect_errors(
    errors: Iterable[Mapping[str, Any]] | None, *, seller_skus: Mapping[str, str]
) -> list[dict[str, Any]] | None:
    if not errors:
        return None
    translated = []
    for error in errors:
        item: dict[str, Any] = {"pointer": to_dialect_pointer(str(error.get("pointer", "#")))}
        if "in" in error:
            item["in"] = error["in"]
        item["detail"] = to_dialect_text(str(error.get("detail", "invalid")), seller_skus=seller_skus)
        translated.append(item)
    return translated


def _whole(value: Decimal) -> int:
    # Marketplace quantities are whole units; this channel only ever sends whole EA quantities.
    return int(value.to_integral_value())
