"""mapping_v2.py: the marketplace dialect, version 2 <-> the version-neutral and canonical order."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import Money, OrderLine, OrderStatus, Quantity
from experience_apis.marketplace import mapping, mapping_v1, mapping_v2
from experience_apis.marketplace.mapping import OrderView, Receipt
from experience_apis.marketplace.schemas import MarketplaceOrderCreate
from experience_apis.marketplace.schemas_v2 import MarketplaceOrderCreateV2
from service_kit.errors import UnprocessableContent
from tests.unit.experience_apis.test_marketplace_mapping import ACME_SKUS, canonical_order, marketplace_order

ADDRESS = {"recipient": "Jane Doe", "street": "Damrak 1", "city": "Amsterdam", "zip": "1012 LG", "country_code": "NL"}


def order_v2(*lines: tuple[str, int, str, str]) -> MarketplaceOrderCreateV2:
    return MarketplaceOrderCreateV2.model_validate(
        {
            "marketplace_order_id": "ACME-1",
            "buyer": {"name": "Jane Doe"},
            "shipping_address": ADDRESS,
            "lines": [
                {"seller_sku": sku, "quantity": qty, "item_price": {"amount": amount, "currency": currency}}
                for sku, qty, amount, currency in lines
            ],
        }
    )


def test_a_v2_order_is_the_same_submission_as_the_same_v1_order() -> None:
    v2 = mapping_v2.to_submission(order_v2(("ACME-WB", 2, "18.50", "EUR"), ("ACME-USB", 1, "9.00", "EUR")))
    v1 = mapping_v1.to_submission(marketplace_order(("ACME-WB", 2, "18.50"), ("ACME-USB", 1, "9.00")))

    assert v2 == v1
    assert v2.fingerprint() == v1.fingerprint()
    assert v2.currency == "EUR"
    canonical = mapping.to_canonical_order(v2, customer_id="C-1001", skus=ACME_SKUS)
    assert [(line.sku, line.quantity.value) for line in canonical.lines] == [("WIDGET-BLUE", "2"), ("CABLE-USB-C", "1")]


def test_a_different_order_has_a_different_fingerprint() -> None:
    one = mapping_v2.to_submission(order_v2(("ACME-WB", 2, "18.50", "EUR")))
    other = mapping_v2.to_submission(order_v2(("ACME-WB", 3, "18.50", "EUR")))

    assert one.fingerprint() != other.fingerprint()


def test_lines_in_more_than_one_currency_are_refused_at_each_odd_line() -> None:
    order = order_v2(("ACME-WB", 1, "1.00", "EUR"), ("ACME-USB", 1, "1.00", "USD"), ("ACME-WB", 1, "1.00", "GBP"))

    with pytest.raises(UnprocessableContent) as refused:
        mapping_v2.to_submission(order)

    assert [e["pointer"] for e in refused.value.errors or []] == [
        "#/lines/1/item_price/currency",
        "#/lines/2/item_price/currency",
    ]


@pytest.mark.parametrize(
    ("canonical", "dialect"),
    [
        ("#/lines/1/sku", "#/lines/1/seller_sku"),
        ("#/lines/0/quantity", "#/lines/0/quantity"),
        ("#/lines/0/quantity/value", "#/lines/0/quantity"),
        ("#/lines/3", "#/lines/3"),
        ("#/lines", "#/lines"),
        ("#/ship_to/postal_code", "#/shipping_address/zip"),
        ("#/currency", "#/lines/0/item_price/currency"),
        ("#/channel_order_id", "#/marketplace_order_id"),
        ("#/customer_id", "#"),
        ("#", "#"),
    ],
)
def test_canonical_pointers_name_the_v2_fields(canonical: str, dialect: str) -> None:
    assert mapping_v2.to_dialect_pointer(canonical) == dialect


def test_the_canonical_order_is_shown_with_v2_money_and_lines() -> None:
    order = canonical_order(
        status=OrderStatus.rejected,
        status_reason="Fix #/lines/0/sku: not enough WIDGET-BLUE at http://127.0.0.1:8302/v1/reservations.",
        status_reason_code="rejected",
        lines=[
            OrderLine(line_no=2, sku="GADGET-PRO", quantity=Quantity.of(1), unit_price=Money.of("149", "EUR")),
            OrderLine(line_no=1, sku="WIDGET-BLUE", quantity=Quantity.of(3)),
        ],
        total=Money.of("149", "EUR"),
    )

    read = mapping_v2.to_marketplace_order(
        OrderView(order=order, marketplace_order_id="ACME-1", seller_skus={"WIDGET-BLUE": "ACME-WB"})
    )

    assert read.model_dump(mode="json") == {
        "marketplace_order_id": "ACME-1",
        "order_reference": "ord_1",
        "order_status": "REJECTED",
        "status_reason": "Fix #/lines/0/seller_sku: not enough ACME-WB at an internal address.",
        "status_reason_code": "rejected",
        "seller_order_number": None,
        "total": {"amount": "149.00", "currency": "EUR"},
        "lines": [
            {"seller_sku": "ACME-WB", "quantity": 3, "unit_price": None},
            {"seller_sku": "GADGET-PRO", "quantity": 1, "unit_price": {"amount": "149.00", "currency": "EUR"}},
        ],
    }


def test_the_accepted_answer_points_at_v2() -> None:
    accepted = mapping_v2.to_marketplace_accepted(Receipt(marketplace_order_id="ACME-1", order_id="ord_1"))

    assert accepted.model_dump(mode="json") == {
        "marketplace_order_id": "ACME-1",
        "order_reference": "ord_1",
        "order_status": "PENDING",
        "status_url": "/marketplace/v2/orders/ACME-1",
    }


@pytest.mark.parametrize(
    ("model", "to_submission"),
    [(MarketplaceOrderCreate, mapping_v1.to_submission), (MarketplaceOrderCreateV2, mapping_v2.to_submission)],
    ids=["v1", "v2"],
)
def test_the_request_examples_are_the_same_valid_acme_market_order(model: Any, to_submission: Any) -> None:
    [example] = model.model_config["json_schema_extra"]["examples"]

    submission = to_submission(model.model_validate(example))

    assert mapping.unlisted_item_errors(submission, ACME_SKUS) == []
    assert submission.currency == "EUR"
