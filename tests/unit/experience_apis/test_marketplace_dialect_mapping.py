"""The field mapping of a partner's own order dialect (experience_apis.marketplace.dialect_mapping):
pure functions. A mapping fills version 2 fields from the partner's paths, per item for line fields;
a bad mapping is refused at the rule and key at fault; a problem with a mapped order points at the
partner's own field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from experience_apis.marketplace.dialect_mapping import (
    TARGETS,
    MappedOrderInvalid,
    compile_mapping,
    mapping_errors,
)

GLOBEX = yaml.safe_load((Path(__file__).parents[2] / "fixtures" / "onboarding" / "globex-mapping.yaml").read_text())


def rules(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"mapping_version": 1, "fields": list(fields)}


def test_the_targets_are_the_version_2_orders_fields() -> None:
    assert "marketplace_order_id" in TARGETS
    assert "lines[].item_price.currency" in TARGETS
    assert "lines[].item_price" not in TARGETS  # an object, not a field to fill


def test_item_paths_fill_one_line_per_item_and_plain_values_every_line() -> None:
    mapping = compile_mapping(
        rules(
            {"from": "po.number", "to": "marketplace_order_id"},
            {"from": "rows[].ref", "to": "lines[].seller_sku"},
            {"from": "rows[].n", "to": "lines[].quantity", "as": "integer"},
            {"from": "rows[].price", "to": "lines[].item_price.amount", "as": "string"},
            {"from": "po.ccy", "to": "lines[].item_price.currency", "default": "EUR"},
            {"value": "Marketplace buyer", "to": "buyer.name"},
        )
    )

    body = mapping.apply(
        {"po": {"number": "P-1"}, "rows": [{"ref": "A", "n": "3", "price": 1.5}, {"ref": "B", "n": 1}]}
    )

    assert body == {
        "marketplace_order_id": "P-1",
        "buyer": {"name": "Marketplace buyer"},
        "lines": [
            {"seller_sku": "A", "quantity": 3, "item_price": {"amount": "1.5", "currency": "EUR"}},
            {"seller_sku": "B", "quantity": 1, "item_price": {"currency": "EUR"}},
        ],
    }


def test_a_missing_field_is_reported_at_the_partners_path() -> None:
    mapping = compile_mapping(GLOBEX)
    order = {"purchase": {"id": "G-1", "customer": {}}, "shipTo": {}, "items": [{"sellerSku": "X", "count": "two"}]}

    with pytest.raises(MappedOrderInvalid) as invalid:
        mapping.to_order(order)

    pointers = {e["pointer"] for e in invalid.value.errors}
    assert "#/purchase/customer/fullName" in pointers  # buyer.name
    assert "#/shipTo/name" in pointers  # the whole shipping address is missing: its first field
    assert "#/items/0/count" in pointers  # "two" is not a whole number
    assert "#/items/0/unitPrice" in pointers


def test_no_items_is_reported_at_the_partners_list() -> None:
    with pytest.raises(MappedOrderInvalid) as invalid:
        compile_mapping(GLOBEX).to_order({"purchase": {"id": "G-1"}})
    assert "#/items" in {e["pointer"] for e in invalid.value.errors}


@pytest.mark.parametrize(
    ("rule", "pointer", "detail"),
    [
        ({"from": "a.b", "to": "buyer.phone"}, "#/fields/1/to", "'buyer.phone' is not a field of the version 2 order"),
        ({"from": "a..b", "to": "buyer.name"}, "#/fields/1/from", "is not a dotted path"),
        ({"from": "a[].b[].c", "to": "lines[].quantity"}, "#/fields/1/from", "more than one `[]`"),
        ({"to": "buyer.name"}, "#/fields/1", "give exactly one of `from`"),
        ({"from": "x[].y", "to": "buyer.name"}, "#/fields/1", "map it to a line field"),
        ({"from": "a", "to": "buyer.name", "as": "date"}, "#/fields/1/as", "Input should be 'string' or 'integer'"),
        ({"from": "a", "to": "buyer.name", "form": "b"}, "#/fields/1/form", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_rule_is_refused_at_its_key(rule: dict[str, Any], pointer: str, detail: str) -> None:
    with pytest.raises(ValidationError) as refused:
        compile_mapping(rules({"from": "items[].sku", "to": "lines[].seller_sku"}, rule))

    errors = mapping_errors(refused.value, prefix="#")
    assert [e["pointer"] for e in errors] == [pointer]
    assert detail in errors[0]["detail"]


def test_a_field_filled_twice_or_lines_from_two_lists_are_refused() -> None:
    twice = rules({"from": "a", "to": "buyer.name"}, {"from": "b", "to": "buyer.name"})
    two_lists = rules({"from": "x[].a", "to": "lines[].seller_sku"}, {"from": "y[].b", "to": "lines[].quantity"})

    for document, detail in ((twice, "`buyer.name` is filled by more than one rule"), (two_lists, "more than one")):
        with pytest.raises(ValidationError, match=detail):
            compile_mapping(document)


@pytest.mark.parametrize("count", ["--5", "²", "1_0", " 7x"])
def test_a_count_that_is_no_whole_number_is_refused_at_the_partners_field_not_a_crash(count: str) -> None:
    # `as: integer` converted anything str.isdigit() took (superscripts, several minus signs), and
    # int() raised on those: a partner's order answered 500 instead of 422 at its own field.
    with pytest.raises(MappedOrderInvalid) as invalid:
        compile_mapping(GLOBEX).to_order({"purchase": {"id": "G-1"}, "items": [{"sellerSku": "X", "count": count}]})
    assert "#/items/0/count" in {e["pointer"] for e in invalid.value.errors}
