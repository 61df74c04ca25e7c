"""Event contracts: the CloudEvents envelope, the data models, and their published JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from pydantic import ValidationError

from contracts.events import EVENT_TYPES, CloudEvent, EventData
from interchange.event_contracts import SCHEMAS_DIR, check_event_schemas, export_event_schemas
from service_kit.events import new_event

SAMPLES: dict[str, dict[str, Any]] = {
    "com.interchange.stock.moved.v1": {
        "sku": "WIDGET-BLUE",
        "warehouse": "DC1",
        "movement": "shipment",
        "quantity_delta": "-2",
        "on_hand_after": "10",
        "reserved_after": "0",
        "occurred_at": "2026-01-05T10:00:00Z",
    },
    "com.interchange.item.changed.v1": {"sku": "WIDGET-BLUE", "status": "active", "safety_stock": "3"},
    "com.interchange.availability.changed.v1": {
        "sku": "WIDGET-BLUE",
        "channel": "marketplace",
        "available": "7",
        "previous": "9",
    },
    "com.interchange.order.accepted.v1": {
        "order_id": "ord_1",
        "channel": "marketplace",
        "channel_order_id": "MP-1001",
        "partner": "acme",
    },
    "com.interchange.order.rejected.v1": {
        "order_id": "ord_2",
        "channel": "storefront",
        "channel_order_id": "SF-9",
        "partner": None,
        "reason": "credit limit exceeded",
    },
}
SAMPLES |= {
    "com.interchange.client.revoked.v1": {"client_id": "acme-market", "revoked_at": "2026-01-05T10:00:00Z"},
    "com.interchange.client.reinstated.v1": {"client_id": "acme-market", "reinstated_at": "2026-01-05T11:00:00Z"},
}
SAMPLES |= {
    f"com.interchange.order.{change}.v1": {
        "order_id": "ord_3",
        "channel": "marketplace",
        "channel_order_id": "MP-1002",
        "partner": "acme",
        "erp_order_number": "SO-000002",
        "reason": None,
    }
    for change in ("held", "released", "cancelled")
}
SAMPLES |= {
    "com.interchange.customer.changed.v1": {
        "customer_id": "CUST-1",
        "name": "Acme Trading",
        "kind": "b2b",
        "status": "active",
        "currency": "EUR",
        "credit_limit": "5000.00",
        "price_list": "TRADE-10",
    },
    "com.interchange.pricelist.changed.v1": {
        "code": "TRADE-10",
        "currency": "EUR",
        "lines": [{"sku": "WIDGET-BLUE", "unit": "EA", "unit_price": "17.99", "status": "active"}],
    },
}

_LINES = [{"line_no": 1, "sku": "WIDGET-BLUE", "quantity": "2", "unit": "EA"}]
SAMPLES |= {
    "com.interchange.fulfillment.requested.v1": {
        "request_id": "fr_1",
        "order_id": "ord_4",
        "channel": "marketplace",
        "channel_order_id": "MP-1004",
        "partner": "northwind-3pl",
        "warehouse": "WH-3PL",
        "lines": _LINES,
        "ship_to": {
            "name": "Jane Doe",
            "line1": "Damrak 1",
            "city": "Amsterdam",
            "postal_code": "1012",
            "country": "NL",
        },
    },
    "com.interchange.shipment.confirmed.v1": {
        "shipment_id": "ASN-1",
        "order_id": "ord_4",
        "channel": "marketplace",
        "channel_order_id": "MP-1004",
        "partner": "acme",
        "warehouse": "WH-3PL",
        "carrier": "DHL",
        "tracking_number": "JD0001",
        "tracking_url": "https://track.example/JD0001",
        "lines": _LINES,
        "invoice_number": "INV-000001",
    },
    "com.interchange.return.credited.v1": {
        "return_id": "RMA-1",
        "order_id": "ord_4",
        "channel": "marketplace",
        "channel_order_id": "MP-1004",
        "partner": "acme",
        "credit_memo_number": "CM-000001",
        "total": "19.99",
        "currency": "EUR",
    },
    "com.interchange.warehouse.shipped.v1": {
        "shipment_id": "SHP-1",
        "reference": "ord_4",
        "warehouse": "DC1",
        "carrier": "UPS",
        "tracking_number": "1Z999",
        "lines": _LINES,
        "shipped_at": "2026-01-05T10:00:00Z",
    },
    "com.interchange.warehouse.return_received.v1": {
        "return_id": "RMA-1",
        "reference": "ord_4",
        "warehouse": "DC1",
        "lines": [{"line_no": 1, "sku": "WIDGET-BLUE", "quantity": "1", "unit": "EA", "condition": "sellable"}],
        "received_at": "2026-01-06T10:00:00Z",
    },
}


def test_every_published_type_has_a_sample_and_a_versioned_name() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES)
    for event_type, model in EVENT_TYPES.items():
        assert model.event_type == event_type and event_type.rsplit(".", 1)[1] == "v1"


def test_the_committed_event_schemas_match_the_code() -> None:
    assert check_event_schemas() == []
    assert sorted(p.stem for p in SCHEMAS_DIR.glob("*.json")) == sorted(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_an_event_as_produced_validates_against_its_published_schema(event_type: str) -> None:
    model: type[EventData] = EVENT_TYPES[event_type]
    event = new_event(data=model.model_validate(SAMPLES[event_type]), source="/tests", subject="x/1", entity_version=1)
    schema = json.loads((SCHEMAS_DIR / f"{event_type}.json").read_text())
    validator = jsonschema_rs.validator_for(schema)
    wire = json.loads(event.model_dump_json())
    assert validator.is_valid(wire), list(validator.iter_errors(wire))
    assert not validator.is_valid({**wire, "type": "com.interchange.other.thing.v1"})
    broken = {**wire, "data": {k: v for k, v in wire["data"].items() if k != next(iter(SAMPLES[event_type]))}}
    assert not validator.is_valid(broken)


def test_consumers_tolerate_unknown_fields_and_extension_attributes() -> None:
    wire = {
        "specversion": "1.0",
        "id": "e1",
        "source": "/wms",
        "type": "com.interchange.item.changed.v1",
        "data": {**SAMPLES["com.interchange.item.changed.v1"], "colour": "blue"},
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }
    event = CloudEvent.model_validate(wire)
    assert json.loads(event.model_dump_json())["traceparent"] == wire["traceparent"]  # passed on
    data = EVENT_TYPES[event.type].model_validate(event.data)
    assert "colour" not in data.model_dump()


def test_the_envelope_refuses_what_the_spec_forbids() -> None:
    base = {"source": "/wms", "type": "com.interchange.stock.moved.v1"}
    CloudEvent.model_validate(base)
    for bad in ({"specversion": "0.3"}, {"type": "StockMoved"}, {"entityversion": -1}, {"source": ""}):
        with pytest.raises(ValidationError):
            CloudEvent.model_validate({**base, **bad})


def test_check_reports_drift_missing_and_stale_schemas(tmp_path: Path) -> None:
    assert len(export_event_schemas(root=tmp_path)) == len(EVENT_TYPES)
    assert export_event_schemas(root=tmp_path) == []
    assert check_event_schemas(root=tmp_path) == []

    drifted = tmp_path / "com.interchange.item.changed.v1.json"
    drifted.write_text(drifted.read_text().replace('"safety_stock"', '"safety"'))
    (tmp_path / "com.interchange.order.accepted.v1.json").unlink()
    (tmp_path / "com.interchange.gone.away.v1.json").write_text('{"type": 5}')

    problems = "\n".join(check_event_schemas(root=tmp_path))
    assert "item.changed.v1.json: the code and the committed event schema differ" in problems
    assert "order.accepted.v1.json: missing" in problems
    assert "gone.away.v1.json: not a valid JSON Schema" in problems
    assert "gone.away.v1.json: no model in contracts.events publishes this type" in problems
