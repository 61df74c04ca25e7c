"""The fulfilment loop on real processes (issue 11): `interchange up --free-ports` starts the
suite; a marketplace order goes to the 3PL's warehouse, the 3PL (northwind-3pl, through the
gateway) is told by a signed webhook, refuses nothing it should not and ships the order in two
parts; the ERP invoices each part and the marketplace is told twice, with tracking, by signed
webhooks to a receiver in this test; a return is authorised, received by the 3PL and credited, and
the marketplace is told. Bad input on the way is a problem+json each, and nothing is written."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from service_kit.webhooks import verify
from tests.support.launcher import launched_suite
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
ORDER = {
    "marketplace_order_id": "MP-LOOP-1",
    "buyer": {"name": "Jane Doe", "email": "jane@example.test"},
    "shipping_address": {
        "recipient": "Jane Doe",
        "street": "Damrak 1",
        "city": "Amsterdam",
        "zip": "1012 LG",
        "country_code": "NL",
    },
    # Only the 3PL's warehouse has both in full (system_apis/wms/seed.py).
    "lines": [
        {"seller_sku": "ACME-WR", "quantity": 2, "item_price": {"amount": "19.99", "currency": "EUR"}},
        {"seller_sku": "ACME-GP", "quantity": 1, "item_price": {"amount": "149.00", "currency": "EUR"}},
    ],
}


class Receiver(ThreadingHTTPServer):
    """Webhook deliveries received: (path, headers, body), in arrival order."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def of(
        self, path: str, event_type: str, *, at_least: int = 1
    ) -> list[tuple[dict[str, str], bytes, dict[str, Any]]]:
        """The deliveries of ``event_type`` to ``path`` once there are ``at_least`` (else none)."""
        with self.lock:
            found = [(h, b, json.loads(b)) for p, h, b in self.received if p == path]
        matching = [(h, raw, body) for h, raw, body in found if body["type"] == event_type]
        return matching if len(matching) >= at_least else []


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()  # its listening socket: left open it is a ResourceWarning in a later test


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("fulfillment-loop") / "var"
    settings = {
        # The receiver is on loopback: trusted here as an operator would trust an in-house one.
        "INTERCHANGE_MARKETPLACE_WEBHOOK_ALLOW_HOSTS": json.dumps(["127.0.0.1"]),
        "INTERCHANGE_FULFILLMENT_PARTNERS_WEBHOOK_ALLOW_HOSTS": json.dumps(["127.0.0.1"]),
    }
    with launched_suite(data_dir, settings=settings) as described:
        secrets = json.loads((data_dir / "secrets.json").read_text())
        yield {**described, "secrets": secrets, "data_dir": data_dir}


def bearer(suite: dict[str, Any], client_id: str) -> dict[str, str]:
    resp = httpx.post(
        f"{suite['gateway']}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, suite["secrets"][client_id]),
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql).fetchall())


def problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == PROBLEM
    body: dict[str, Any] = resp.json()
    return body


def subscribe(client: httpx.Client, path: str, headers: dict[str, str], url: str, *types: str) -> str:
    resp = client.post(path, json={"url": url, "event_types": list(types)}, headers=headers)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["secret"])


def asn(number: str, request_id: str, *items: tuple[int, str, int]) -> dict[str, Any]:
    return {
        "asn_number": number,
        "request_id": request_id,
        "carrier": "DHL",
        "tracking": f"JD-{number}",
        "tracking_url": f"https://www.dhl.com/track?id=JD-{number}",
        "shipped_at": "2026-12-07T23:30:00Z",
        "items": [{"line": line, "sku": sku, "qty": qty} for line, sku, qty in items],
    }


def test_an_order_ships_in_two_parts_is_invoiced_twice_and_returned_with_the_marketplace_told(
    suite: dict[str, Any], receiver: Receiver
) -> None:
    acme, zenith = bearer(suite, "acme-market"), bearer(suite, "zenith-market")
    northwind = bearer(suite, "northwind-3pl")
    fulfil_db, erp_db = suite["data_dir"] / "fulfillment.db", suite["data_dir"] / "erp.db"
    with httpx.Client(base_url=suite["gateway"], timeout=30) as gw:
        market_secret = subscribe(
            gw, "/marketplace/v2/webhooks", acme, f"{receiver.url}/acme", "shipment.confirmed", "return.credited"
        )
        three_pl_secret = subscribe(
            gw, "/fulfillment_partners/v1/webhooks", northwind, f"{receiver.url}/3pl", "fulfillment.requested"
        )

        taken = gw.post("/marketplace/v2/orders", json=ORDER, headers=acme | {"Idempotency-Key": "loop-1"})
        assert taken.status_code == 202, taken.text
        order_id = taken.json()["order_reference"]

        # The 3PL is told (signed) and reads the same request back.
        [(headers, raw, told)] = wait_until(
            lambda: receiver.of("/3pl", "fulfillment.requested"), seconds=90, what="the 3PL told of the request"
        )
        verify(secret=three_pl_secret, body=raw, headers=headers)
        request = told["data"]
        assert request["order_reference"] == order_id and request["warehouse"] == "WH-3PL"
        listed = gw.get("/fulfillment_partners/v1/fulfillment-requests", params={"status": "open"}, headers=northwind)
        assert [r["request_id"] for r in listed.json()["items"]] == [request["request_id"]]
        lines = {item["sku"]: item["line"] for item in request["items"]}
        wr, gp = lines["WIDGET-RED"], lines["GADGET-PRO"]
        rid = request["request_id"]

        # Bad input: each a problem naming what to fix, and nothing written.
        unknown = gw.post(
            "/fulfillment_partners/v1/shipments",
            json=asn("ASN-BAD-1", rid, (9, "WIDGET-RED", 1)),
            headers=northwind | {"Idempotency-Key": "bad-1"},
        )
        [error] = problem(unknown, 422)["errors"]
        assert error["pointer"] == "#/items/0" and "not on the request" in error["detail"]
        over = gw.post(
            "/fulfillment_partners/v1/shipments",
            json=asn("ASN-BAD-2", rid, (wr, "WIDGET-RED", 3)),
            headers=northwind | {"Idempotency-Key": "bad-2"},
        )
        [error] = problem(over, 422)["errors"]
        assert error["pointer"] == "#/items/0" and "above what is left" in error["detail"]
        never_shipped = gw.post(
            f"/marketplace/v2/orders/{ORDER['marketplace_order_id']}/returns",
            json={"return_reference": "RMA-EARLY", "lines": [{"seller_sku": "ACME-WR", "quantity": 1, "reason": "x"}]},
            headers=acme | {"Idempotency-Key": "rma-early"},
        )
        problem(never_shipped, 422)
        theirs = gw.get(f"/marketplace/v2/orders/{ORDER['marketplace_order_id']}/shipments", headers=zenith)
        problem(theirs, 404)
        # Another 3PL confirming this request: the fulfilment process, as the partners' API calls
        # it for that partner, does not find it (the demo has one 3PL; its own 404 is tested in unit).
        svc = bearer(suite, "svc-fulfillment_partners") | {"X-Interchange-Partner": "southwind-3pl"}
        other = httpx.post(
            f"{suite['services']['fulfillment']}/v1/shipments",
            json={
                "shipment_id": "ASN-OTHER",
                "request_id": rid,
                "order_id": order_id,
                "warehouse": "WH-3PL",
                "carrier": "DHL",
                "tracking_number": "JD-OTHER",
                "shipped_at": "2026-12-07T23:30:00Z",
                "lines": [{"line_no": wr, "sku": "WIDGET-RED", "quantity": {"value": "1", "unit": "EA"}}],
            },
            headers=svc | {"Idempotency-Key": "other-1"},
            timeout=30,
        )
        problem(other, 404)
        assert rows(fulfil_db, "SELECT count(*) FROM shipments") == [(0,)]
        assert rows(fulfil_db, "SELECT count(*) FROM returns") == [(0,)]
        assert rows(erp_db, "SELECT count(*) FROM erp_invoices") == [(0,)]

        # Two parcels: two shipments, two invoices, the marketplace told twice with tracking.
        for number, item in (("ASN-LOOP-1", (wr, "WIDGET-RED", 2)), ("ASN-LOOP-2", (gp, "GADGET-PRO", 1))):
            sent = gw.post(
                "/fulfillment_partners/v1/shipments",
                json=asn(number, rid, item),
                headers=northwind | {"Idempotency-Key": number},
            )
            assert sent.status_code == 202, sent.text
        told_twice = wait_until(
            lambda: receiver.of("/acme", "shipment.confirmed", at_least=2),
            seconds=120,
            what="the marketplace told of both shipments",
        )
        for headers, raw, _ in told_twice:
            verify(secret=market_secret, body=raw, headers=headers)
        shipped = sorted((b["data"]["shipment_id"], b["data"]["tracking_number"]) for _, _, b in told_twice)
        # The fulfilment process's shipment ids: each ASN number namespaced by the 3PL that sent it.
        assert shipped == [("northwind-3pl:ASN-LOOP-1", "JD-ASN-LOOP-1"), ("northwind-3pl:ASN-LOOP-2", "JD-ASN-LOOP-2")]
        assert all(b["data"]["invoice_number"].startswith("INV-") for _, _, b in told_twice)
        assert {b["data"]["marketplace_order_id"] for _, _, b in told_twice} == {"MP-LOOP-1"}

        shipments = gw.get("/marketplace/v2/orders/MP-LOOP-1/shipments", headers=acme).json()["items"]
        invoices = gw.get("/marketplace/v2/orders/MP-LOOP-1/invoices", headers=acme).json()["items"]
        assert sorted(s["tracking_number"] for s in shipments) == ["JD-ASN-LOOP-1", "JD-ASN-LOOP-2"]
        assert sorted(i["shipment_id"] for i in invoices) == ["northwind-3pl:ASN-LOOP-1", "northwind-3pl:ASN-LOOP-2"]
        assert len({i["invoice_number"] for i in invoices}) == 2
        assert rows(erp_db, "SELECT count(*) FROM erp_invoices") == [(2,)]
        done = gw.get(f"/fulfillment_partners/v1/fulfillment-requests/{rid}", headers=northwind).json()
        assert done["status"] == "shipped"

        # A return: authorised for what shipped, received by the 3PL, credited, the marketplace told.
        too_many = gw.post(
            "/marketplace/v2/orders/MP-LOOP-1/returns",
            json={"return_reference": "RMA-LOOP-X", "lines": [{"seller_sku": "ACME-WR", "quantity": 3, "reason": "x"}]},
            headers=acme | {"Idempotency-Key": "rma-x"},
        )
        problem(too_many, 422)
        authorised = gw.post(
            "/marketplace/v2/orders/MP-LOOP-1/returns",
            json={
                "return_reference": "RMA-LOOP-1",
                "lines": [{"seller_sku": "ACME-WR", "quantity": 1, "reason": "arrived damaged"}],
            },
            headers=acme | {"Idempotency-Key": "rma-1"},
        )
        assert authorised.status_code == 201, authorised.text
        assert authorised.json()["status"] == "authorised"
        received = gw.post(
            "/fulfillment_partners/v1/return-receipts",
            json={
                "rma_number": "RMA-LOOP-1",
                "received_at": "2026-12-08T09:00:00Z",
                "items": [{"line": wr, "sku": "WIDGET-RED", "qty": 1, "condition": "sellable"}],
            },
            headers=northwind | {"Idempotency-Key": "rma-1-receipt"},
        )
        assert received.status_code == 202, received.text
        [(headers, raw, credited)] = wait_until(
            lambda: receiver.of("/acme", "return.credited"), seconds=120, what="the marketplace told of the credit"
        )
        verify(secret=market_secret, body=raw, headers=headers)
        assert credited["data"]["return_reference"] == "RMA-LOOP-1"
        assert credited["data"]["credit_memo_number"].startswith("CM-")
        assert rows(erp_db, "SELECT count(*) FROM erp_credit_memos") == [(1,)]

        # The 3PL's count of its warehouse, compared with the WMS's figures.
        counted = gw.post(
            "/fulfillment_partners/v1/stock-snapshots",
            json={"counted_at": "2026-12-08T06:00:00Z", "items": [{"sku": "WIDGET-RED", "qty": 0}]},
            headers=northwind,
        )
        assert counted.status_code == 200, counted.text
        [drift] = counted.json()["items"]
        assert drift["sku"] == "WIDGET-RED" and drift["drift"] == -drift["expected"]
