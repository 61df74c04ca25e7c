"""The B2B channel (issue 12) on real processes (`interchange up --free-ports`): a reseller's
purchase order, sent through the gateway with the quote it was priced by, reaches accepted at the
reseller's own price with its ERP sales order booked on the reseller's account; another reseller gets
404 for it. Its availability by warehouse is the inventory's, and once the warehouse ships it the
ERP's invoice is the reseller's to read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.launcher import launched_suite
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def suite(tmp_path: Path) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    data_dir = tmp_path / "var"
    with launched_suite(data_dir) as described:
        yield described, json.loads((data_dir / "secrets.json").read_text()) | {"data_dir": str(data_dir)}


def logs(secrets: dict[str, str]) -> str:
    """The end of the logs of the services on the path, for a failed assertion's message."""
    folder = Path(secrets["data_dir"]) / "logs"
    tails = [f"--- {n}\n" + "\n".join((folder / f"{n}.log").read_text().splitlines()[-15:]) for n in ("b2b", "orders")]
    return "\n".join(tails)


def bearer(gateway: str, client_id: str, secret: str) -> dict[str, str]:
    resp = httpx.post(f"{gateway}/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def test_a_resellers_purchase_order_is_accepted_at_its_price_and_hidden_from_another(
    suite: tuple[dict[str, Any], dict[str, str]],
) -> None:
    described, secrets = suite
    gateway = str(described["gateway"])
    borealis = bearer(gateway, "borealis-hw", secrets["borealis-hw"])
    closed = bearer(gateway, "closed-shop", secrets["closed-shop"])
    body = {"po_number": "PO-E2E-1", "lines": [{"sku": "GADGET-PRO", "quantity": {"value": "2", "unit": "EA"}}]}

    with httpx.Client(base_url=f"{gateway}/b2b/v1", timeout=10) as b2b:
        # The inventory seeds its projection from the WMS once it is up (a worker after start): until then a
        # SKU's stock is unknown (404), so wait for it.
        def known() -> httpx.Response | None:
            answer = b2b.get("/catalog/GADGET-PRO/availability", headers=borealis)
            return answer if answer.status_code != 404 else None

        stock = wait_until(known, seconds=60, what="GADGET-PRO's stock to be known to the inventory")
        assert stock.status_code == 200, stock.text + logs(secrets)
        by_warehouse = {w["warehouse"]: int(w["available"]["value"]) for w in stock.json()["warehouses"]}
        assert by_warehouse and sum(by_warehouse.values()) == int(stock.json()["available"]["value"])
        catalog = b2b.get("/catalog", headers=borealis)
        assert catalog.status_code == 200, catalog.text + logs(secrets)
        price = {i["sku"]: i["unit_price"] for i in catalog.json()["items"]}["GADGET-PRO"]
        assert price == {"amount": "134.10", "currency": "EUR"}  # TRADE-10: 149.00 less 10 %

        quoted = b2b.post("/quotes", json={"lines": body["lines"]}, headers={**borealis, "Idempotency-Key": "e2e-q-1"})
        assert quoted.status_code == 201, quoted.text + logs(secrets)
        assert quoted.json()["total"] == {"amount": "268.20", "currency": "EUR"}
        body["quote_id"] = quoted.json()["quote_id"]
        submitted = b2b.post("/purchase-orders", json=body, headers={**borealis, "Idempotency-Key": "e2e-po-1"})
        assert submitted.status_code == 202, submitted.text + logs(secrets)
        order_id = submitted.json()["order_id"]
        order = wait_until(
            lambda: (o := b2b.get(f"/purchase-orders/{order_id}", headers=borealis).json())["erp_order_number"] and o,
            seconds=60,
            what="the purchase order to be booked in the ERP",
        )
        assert order["status"] in ("accepted", "released"), order  # released: on to the warehouse already
        assert order["lines"][0]["unit_price"] == price
        assert order["total"] == {"amount": "268.20", "currency": "EUR"}

        hidden = b2b.get(f"/purchase-orders/{order_id}", headers=closed)
        assert hidden.status_code == 404
        assert hidden.headers["content-type"].startswith("application/problem+json")
        account = b2b.get("/account", headers=borealis).json()
        assert account["open_orders"] == order["total"]
        assert b2b.get(f"/purchase-orders/{order_id}/invoices", headers=borealis).json() == {"items": []}
        assert b2b.get(f"/purchase-orders/{order_id}/credit-memos", headers=borealis).json() == {"items": []}
        assert b2b.get(f"/purchase-orders/{order_id}/invoices", headers=closed).status_code == 404

        # The warehouse ships it (a WMS ship confirm, as an internal service posts it): the ERP
        # invoices the shipment, and the invoice is the reseller's to read.
        line = order["lines"][0]
        shipped = httpx.post(
            f"{described['services']['fulfillment']}/v1/shipments",
            json={
                "shipment_id": "SHP-E2E-B2B-1",
                "order_id": order_id,
                "warehouse": line["warehouse"],
                "carrier": "DHL",
                "tracking_number": "JD-E2E-B2B-1",
                "shipped_at": "2026-12-07T23:30:00Z",
                "lines": [{"line_no": 1, "sku": "GADGET-PRO", "quantity": {"value": "2", "unit": "EA"}}],
            },
            headers=bearer(gateway, "svc-fulfillment_partners", secrets["svc-fulfillment_partners"])
            | {"Idempotency-Key": "shp-e2e-b2b-1"},
            timeout=30,
        )
        assert shipped.status_code == 202, shipped.text
        invoices = wait_until(
            lambda: b2b.get(f"/purchase-orders/{order_id}/invoices", headers=borealis).json()["items"],
            seconds=60,
            what="the shipment's invoice",
        )
        assert [(i["shipment_id"], i["total"]) for i in invoices] == [("SHP-E2E-B2B-1", order["total"])]
        assert b2b.get(f"/purchase-orders/{order_id}/invoices", headers=closed).status_code == 404

    erp = httpx.get(
        f"{described['services']['erp']}/v1/sales-orders/{order['erp_order_number']}",
        headers=bearer(gateway, "svc-orders", secrets["svc-orders"]),
        timeout=10,
    )
    assert erp.status_code == 200, erp.text
    assert erp.json()["customer_id"] == "C-2001"
    assert erp.json()["external_reference"] == order_id
    assert erp.json()["total"] == order["total"]
