"""mapping.py and mapping_v1.py: the marketplace dialect, version 1 <-> the canonical order, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import Money, Order, OrderLine, OrderStatus, Quantity
from experience_apis.marketplace import mapping, mapping_v1
from experience_apis.marketplace.mapping import OrderView, Receipt
from experience_apis.marketplace.schemas import MarketplaceOrderCreate, MarketplaceOrderStatus

ACME_SKUS = {"ACME-WB": "WIDGET-BLUE", "ACME-USB": "CABLE-USB-C"}


def marketplace_order(*items: tuple[str, int, str]) -> MarketplaceOrderCreate:
    return MarketplaceOrderCreate.model_validate(
        {
            "marketplace_order_id": "ACME-1",
            "currency_code": "EUR",
            "buyer": {"name": "Jane Doe"},
            "shipping_address": {
                "recipient": "Jane Doe",
                "street": "Damrak 1",
                "city": "Amsterdam",
                "zip": "1012 LG",
                "country_code": "NL",
            },
            "order_items": [
                {"seller_sku": sku, "quantity_ordered": qty, "item_price": price} for sku, qty, price in items
            ],
        }
    )


def canonical_order(**overrides: Any) -> Order:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    values: dict[str, Any] = {
        "id": "ord_1",
        "channel": "marketplace",
        "channel_order_id": "ACME-1",
        "partner_id": "acme-market",
        "customer_id": "C-1001",
        "currency": "EUR",
        "status": OrderStatus.received,
        "lines": [
            OrderLine(line_no=2, sku="CABLE-USB-C", quantity=Quantity.of(1)),
            OrderLine(line_no=1, sku="WIDGET-BLUE", quantity=Quantity.of(3)),
        ],
        "created_at": now,
        "updated_at": now,
    }
    return Order(**(values | overrides))


def test_the_marketplace_order_becomes_the_canonical_order_without_its_prices() -> None:
    order = marketplace_order(("ACME-WB", 2, "18.50"), ("ACME-USB", 1, "9.00"))

    canonical = mapping.to_canonical_order(mapping_v1.to_submission(order), customer_id="C-1001", skus=ACME_SKUS)

    assert canonical.model_dump(mode="json", exclude_none=True) == {
        "channel": "marketplace",
        "channel_order_id": "ACME-1",
        "customer_id": "C-1001",
        "currency": "EUR",
        "ship_to": {
            "name": "Jane Doe",
            "line1": "Damrak 1",
            "city": "Amsterdam",
            "postal_code": "1012 LG",
            "country": "NL",
        },
        "lines": [
            {"sku": "WIDGET-BLUE", "quantity": {"value": "2", "unit": "EA"}},
            {"sku": "CABLE-USB-C", "quantity": {"value": "1", "unit": "EA"}},
        ],
        # Marketplace orders ship whole from one warehouse: the canonical default.
        "split_shipments_allowed": False,
    }


def test_unlisted_seller_skus_are_named_by_their_item() -> None:
    order = marketplace_order(("ACME-WB", 1, "1.00"), ("NOPE", 1, "1.00"), ("ALSO-NOPE", 1, "1.00"))

    errors = mapping.unlisted_item_errors(mapping_v1.to_submission(order), ACME_SKUS)

    assert [e["pointer"] for e in errors] == ["#/lines/1/sku", "#/lines/2/sku"]
    assert [e["pointer"] for e in mapping_v1.DIALECT.errors(errors, seller_skus={}) or []] == [
        "#/order_items/1/seller_sku",
        "#/order_items/2/seller_sku",
    ]
    assert (
        mapping.unlisted_item_errors(mapping_v1.to_submission(marketplace_order(("ACME-WB", 1, "1.00"))), ACME_SKUS)
        == []
    )


def test_every_canonical_status_has_a_marketplace_word() -> None:
    assert {s: mapping.to_marketplace_status(s) for s in OrderStatus} == {
        OrderStatus.received: MarketplaceOrderStatus.PENDING,
        OrderStatus.accepted: MarketplaceOrderStatus.ACCEPTED,
        OrderStatus.rejected: MarketplaceOrderStatus.REJECTED,
        OrderStatus.on_hold: MarketplaceOrderStatus.ON_HOLD,
        OrderStatus.released: MarketplaceOrderStatus.ACCEPTED,
        OrderStatus.shipped: MarketplaceOrderStatus.SHIPPED,
        OrderStatus.invoiced: MarketplaceOrderStatus.SHIPPED,
        OrderStatus.completed: MarketplaceOrderStatus.COMPLETED,
        OrderStatus.cancelled: MarketplaceOrderStatus.CANCELLED,
    }


def test_the_canonical_order_is_shown_in_the_partners_seller_skus() -> None:
    order = canonical_order(
        status=OrderStatus.rejected,
        status_reason="Not enough stock of WIDGET-BLUE (asked http://127.0.0.1:8302/v1/reservations).",
        status_reason_code="rejected",
        lines=[
            OrderLine(line_no=2, sku="GADGET-PRO", quantity=Quantity.of(1), unit_price=Money.of("149", "EUR")),
            OrderLine(line_no=1, sku="WIDGET-BLUE", quantity=Quantity.of(3), unit_price=Money.of("19.99", "EUR")),
        ],
        total=Money.of("208.97", "EUR"),
        erp_order_number="SO-7",
    )

    read = mapping_v1.to_marketplace_order(
        OrderView(order=order, marketplace_order_id="ACME-1", seller_skus={"WIDGET-BLUE": "ACME-WB"})
    )

    assert read.model_dump(mode="json") == {
        "marketplace_order_id": "ACME-1",
        "order_reference": "ord_1",
        "order_status": "REJECTED",
        "status_reason": "Not enough stock of ACME-WB (asked an internal address).",
        "status_reason_code": "rejected",
        "seller_order_number": "SO-7",
        "order_total": {"amount": "208.97", "currency_code": "EUR"},
        "order_items": [
            {"seller_sku": "ACME-WB", "quantity_ordered": 3, "unit_price": "19.99"},
            {"seller_sku": "GADGET-PRO", "quantity_ordered": 1, "unit_price": "149.00"},
        ],
    }


@pytest.mark.parametrize(
    ("canonical", "dialect"),
    [
        ("#/lines/1/sku", "#/order_items/1/seller_sku"),
        ("#/lines/0/quantity", "#/order_items/0/quantity_ordered"),
        ("#/lines/0/quantity/value", "#/order_items/0/quantity_ordered"),
        ("#/lines/3", "#/order_items/3"),
        ("#/lines", "#/order_items"),
        ("#/ship_to/postal_code", "#/shipping_address/zip"),
        ("#/ship_to/line1", "#/shipping_address/street"),
        ("#/ship_to/region", "#/shipping_address"),
        ("#/currency", "#/currency_code"),
        ("#/channel_order_id", "#/marketplace_order_id"),
        ("#/customer_id", "#"),
        ("#/channel", "#"),
        ("#", "#"),
    ],
)
def test_canonical_pointers_name_the_partners_fields(canonical: str, dialect: str) -> None:
    assert mapping_v1.to_dialect_pointer(canonical) == dialect


def test_problem_text_is_in_the_dialect_and_names_no_internal_address() -> None:
    skus = {"WIDGET-BLUE": "ACME-WB"}
    text = "Fix #/lines/0/sku: WIDGET-BLUE and WIDGET-BLUE-XL are unknown at https://erp.internal:8301/v1/items."

    assert mapping_v1.DIALECT.text(text, seller_skus=skus) == (
        "Fix #/order_items/0/seller_sku: ACME-WB and WIDGET-BLUE-XL are unknown at an internal address."
    )
    errors = [{"pointer": "#/customer_id", "in": "body", "detail": "Customer C-1001 is inactive."}]
    assert mapping_v1.DIALECT.errors(errors, seller_skus=skus) == [
        {"pointer": "#", "in": "body", "detail": "Customer C-1001 is inactive."}
    ]
    assert mapping_v1.DIALECT.errors(None, seller_skus=skus) is None


def test_the_accepted_answer_and_idempotency_key_are_per_partner_and_order() -> None:
    assert mapping.idempotency_key(partner_id="acme-market", marketplace_order_id="ACME-1") == (
        "marketplace:acme-market:ACME-1"
    )
    accepted = mapping_v1.to_marketplace_accepted(Receipt(marketplace_order_id="ACME-1", order_id="ord_1"))
    assert accepted.model_dump(mode="json") == {
        "marketplace_order_id": "ACME-1",
        "order_reference": "ord_1",
        "order_status": "PENDING",
        "status_url": "/marketplace/v1/orders/ACME-1",
    }
    items = [{"sku": "WIDGET-BLUE", "seller_sku": "ACME-WB"}, {"sku": "WIDGET-BLUE", "seller_sku": "ACME-WB2"}]
    assert mapping.seller_skus_of(items) == {"WIDGET-BLUE": "ACME-WB"}


def test_the_request_example_is_a_valid_acme_market_order() -> None:
    [example] = MarketplaceOrderCreate.model_config["json_schema_extra"]["examples"]  # type: ignore[index]
    order = MarketplaceOrderCreate.model_validate(example)
    assert mapping.unlisted_item_errors(mapping_v1.to_submission(order), ACME_SKUS) == []
