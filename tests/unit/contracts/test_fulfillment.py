"""The canonical fulfilment models: what they accept and what they refuse."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from contracts import ReturnCreate, ReturnReceiptCreate, ShipmentCreate


def _shipment(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "shipment_id": "ASN-1",
        "order_id": "ord_1",
        "warehouse": "WH-3PL",
        "carrier": "DHL",
        "tracking_number": "JD0001",
        "shipped_at": "2026-01-05T10:00:00",
        "lines": [{"line_no": 1, "sku": "WIDGET-BLUE", "quantity": {"value": "2", "unit": "EA"}}],
    }
    return body | changes


def test_a_shipment_reads_naive_times_as_utc_and_keeps_its_lines() -> None:
    shipment = ShipmentCreate.model_validate(_shipment())
    assert shipment.shipped_at.utcoffset() is not None
    assert shipment.lines[0].quantity.amount == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [{"line_no": 1, "sku": "WIDGET-BLUE", "quantity": {"value": "0"}}]}, "lines"),
        ({"lines": [{"line_no": 0, "sku": "WIDGET-BLUE", "quantity": {"value": "1"}}]}, "lines"),
        ({"tracking_number": ""}, "tracking_number"),
        ({"carrier": "DHL\nEXPRESS"}, "carrier"),
        ({"shipment_id": "x" * 130}, "shipment_id"),  # a partner id (64), ":" and its reference (64)
        ({"status": "invoiced"}, "status"),
        ({"shipped_at": 1_765_100_000}, "shipped_at"),  # a string, as the schema says, not a Unix time
    ],
)
def test_a_shipment_refuses_what_it_cannot_ship(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        ShipmentCreate.model_validate(_shipment(**changes))
    assert field in {str(error["loc"][0]) for error in refused.value.errors()}


def test_a_return_needs_a_reason_and_a_receipt_a_known_condition() -> None:
    line = {"line_no": 1, "sku": "WIDGET-BLUE", "quantity": {"value": "1"}}
    with pytest.raises(ValidationError):
        ReturnCreate.model_validate({"return_id": "RMA-1", "order_id": "ord_1", "lines": [line | {"reason": ""}]})
    with pytest.raises(ValidationError):
        ReturnReceiptCreate.model_validate(
            {"warehouse": "DC1", "received_at": "2026-01-06T10:00:00Z", "lines": [line | {"condition": "lost"}]}
        )
    accepted = ReturnReceiptCreate.model_validate(
        {"warehouse": "DC1", "received_at": "2026-01-06T10:00:00Z", "lines": [line | {"condition": "damaged"}]}
    )
    assert accepted.lines[0].condition == "damaged"
