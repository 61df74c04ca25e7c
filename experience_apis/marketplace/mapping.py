"""The marketplace order, whatever dialect version it came in, <-> the canonical order. Pure
functions: no I/O, no session, no clock. Each dialect version (``mapping_v1``, ``mapping_v2``)
turns its request into a ``Submission`` and a ``Receipt`` or ``OrderView`` into its answers; the
service only ever handles these neutral shapes, so both versions share one service and one stored
order.

Submission              a marketplace order, version-neutral; its fingerprint tells a resubmission
                        of the same order (on either version) from another order under a reused id
to_canonical_order      Submission + partner account + listings -> OrderCreate
unlisted_item_errors    the items whose seller SKU the partner has not listed (canonical pointers)
to_marketplace_status   OrderStatus -> the marketplace's status word
Dialect                 how one version names the canonical fields: pointers and problem texts
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts import Address, Order, OrderCreate, OrderLineCreate, OrderStatus, Quantity
from experience_apis.marketplace.schemas import Buyer, MarketplaceOrderStatus, ShippingAddress

CHANNEL = "marketplace"

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

_ADDRESS = {"name": "recipient", "line1": "street", "city": "city", "postal_code": "zip", "country": "country_code"}

_POINTER = re.compile(r"#/[A-Za-z0-9_~/\-]*")
# A URL, without the punctuation that ends the sentence around it.
_URL = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s<>\"')\]]*[^\s<>\"')\].,;:!?]", re.IGNORECASE)
_SKU_CHARS = r"A-Za-z0-9._\-"


class _Neutral(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SubmittedItem(_Neutral):
    seller_sku: str
    quantity: int
    item_price: str  # what the buyer paid per unit, in the order's currency (for reference only)


class Submission(_Neutral):
    """A marketplace order as the service handles it, whichever dialect version it came in."""

    marketplace_order_id: str
    currency: str
    buyer: Buyer
    shipping_address: ShippingAddress
    items: tuple[SubmittedItem, ...]

    def fingerprint(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


class Receipt(_Neutral):
    """The intake answer, before a version words it; also what an Idempotency-Key replays."""

    marketplace_order_id: str
    order_id: str
    #: The order's status when answered (an answer stored before this field existed: received).
    status: OrderStatus = OrderStatus.received


@dataclass(frozen=True)
class OrderView:
    """The partner's order as the orders API knows it now, with the partner's seller SKUs."""

    order: Order
    marketplace_order_id: str
    seller_skus: Mapping[str, str]  # canonical SKU -> the seller SKU the partner used


def idempotency_key(*, partner_id: str, marketplace_order_id: str) -> str:
    """The key the orders API sees: the same marketplace order is always the same order."""
    return f"{CHANNEL}:{partner_id}:{marketplace_order_id}"


def unlisted_item_errors(submission: Submission, skus: Mapping[str, str]) -> list[dict[str, Any]]:
    """One error per item whose seller SKU is not among the partner's listings, at the canonical
    pointer of its line (``#/lines/N/sku``; the dialect words it)."""
    return [
        {
            "pointer": f"#/lines/{i}/sku",
            "in": "body",
            "detail": f"Seller SKU {item.seller_sku!r} is not listed for this partner.",
        }
        for i, item in enumerate(submission.items)
        if item.seller_sku not in skus
    ]


def to_canonical_order(submission: Submission, *, customer_id: str, skus: Mapping[str, str]) -> OrderCreate:
    """``skus`` maps each seller SKU of the order to its canonical SKU (see unlisted_item_errors).
    The marketplace's item prices are not carried over: the seller's prices come from the ERP."""
    address = submission.shipping_address
    return OrderCreate(
        channel=CHANNEL,
        channel_order_id=submission.marketplace_order_id,
        customer_id=customer_id,
        currency=submission.currency,
        ship_to=Address(
            name=address.recipient,
            line1=address.street,
            city=address.city,
            postal_code=address.zip,
            country=address.country_code,
        ),
        lines=[
            OrderLineCreate(sku=skus[item.seller_sku], quantity=Quantity.of(item.quantity, "EA"))
            for item in submission.items
        ],
    )


def stored_items(submission: Submission, order: OrderCreate) -> list[dict[str, Any]]:
    """What the service keeps per line: the partner's seller SKU beside the canonical one."""
    return [
        {
            "seller_sku": item.seller_sku,
            "sku": line.sku,
            "quantity_ordered": item.quantity,
            "item_price": item.item_price,
        }
        for item, line in zip(submission.items, order.lines, strict=True)
    ]


def to_marketplace_status(status: OrderStatus) -> MarketplaceOrderStatus:
    return _STATUS[status]


def seller_skus_of(items: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Canonical SKU -> the seller SKU the partner used for it, from the submitted items (the
    first seller SKU wins when two listings of one product are in the same order)."""
    found: dict[str, str] = {}
    for item in items:
        found.setdefault(str(item["sku"]), str(item["seller_sku"]))
    return found


def whole(value: Decimal) -> int:
    # Marketplace quantities are whole units; this channel only ever sends whole EA quantities.
    return int(value.to_integral_value())


def translate_pointer(pointer: str, *, top: Mapping[str, str], lines: str, line_fields: Mapping[str, str]) -> str:
    """A canonical OrderCreate pointer as a dialect's field: ``top`` names the top-level fields,
    ``lines`` the array of order lines and ``line_fields`` a line's fields; the shipping address is
    the same in every version. A field the partner did not send (customer, channel) points at the
    whole request, ``#``."""
    parts = [p for p in pointer.removeprefix("#").split("/") if p]
    if not parts:
        return "#"
    head, rest = parts[0], parts[1:]
    if head in top and not rest:
        return top[head]
    if head == "ship_to":
        if rest and rest[0] in _ADDRESS:
            return f"#/shipping_address/{_ADDRESS[rest[0]]}"
        return "#/shipping_address"
    if head == "lines":
        if not rest or not rest[0].isdigit():
            return f"#/{lines}"
        item = f"#/{lines}/{rest[0]}"
        if len(rest) > 1 and rest[1] in line_fields:
            return f"{item}/{line_fields[rest[1]]}"
        return item
    return "#"


@dataclass(frozen=True)
class Dialect:
    """How one version of the dialect words canonical pointers and problem texts."""

    version: str
    pointer: Callable[[str], str]  # canonical OrderCreate pointer -> this version's pointer

    def text(self, text: str, *, seller_skus: Mapping[str, str]) -> str:
        """A canonical problem's text for the partner: pointers and SKUs in the dialect, and no
        internal addresses."""
        text = _URL.sub("an internal address", text)
        text = _POINTER.sub(lambda m: self.pointer(m.group(0)), text)
        known = sorted((sku for sku in seller_skus if sku), key=len, reverse=True)
        if known:
            pattern = re.compile(rf"(?<![{_SKU_CHARS}])({'|'.join(map(re.escape, known))})(?![{_SKU_CHARS}])")
            text = pattern.sub(lambda m: seller_skus[m.group(1)], text)
        return text

    def errors(
        self, errors: Iterable[Mapping[str, Any]] | None, *, seller_skus: Mapping[str, str]
    ) -> list[dict[str, Any]] | None:
        if not errors:
            return None
        translated = []
        for error in errors:
            item: dict[str, Any] = {"pointer": self.pointer(str(error.get("pointer", "#")))}
            if "in" in error:
                item["in"] = error["in"]
            item["detail"] = self.text(str(error.get("detail", "invalid")), seller_skus=seller_skus)
            translated.append(item)
        return translated
