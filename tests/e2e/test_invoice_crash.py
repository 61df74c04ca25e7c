"""SIGKILL of the fulfilment process between the ERP's invoice and its record, on real processes:
`interchange up --free-ports` starts the suite with the fulfilment process armed to stop itself
once the ERP answered an invoice and before it records it (``INTERCHANGE_FULFILLMENT_INJECTION_POINT
=invoice_answered``, the kit's injection points, ``service_kit/saga/injection.py``). An order goes
to the 3PL's warehouse, the 3PL confirms a shipment, the process stops there and is killed; started
again (disarmed, with the command line and environment read from /proc before the kill) it must
end the shipment invoiced exactly once, with the ERP's first invoice, announced exactly once.

As in ``test_orders_crash``, the launcher is frozen (SIGSTOP) while the test restarts the process
itself, so its supervisor does not start an armed copy behind the test's back."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import skip_or_fail
from tests.support.processes import ready, wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "INTERCHANGE_FULFILLMENT_INJECTION_POINT": "invoice_answered",
    "INTERCHANGE_FULFILLMENT_WORKER_POLL_INTERVAL": "0.5",
}
ORDER = {
    "marketplace_order_id": "MP-3PL-1",
    "currency_code": "EUR",
    "buyer": {"name": "Jane Doe", "email": "jane@example.test"},
    "shipping_address": {
        "recipient": "Jane Doe",
        "street": "Damrak 1",
        "city": "Amsterdam",
        "zip": "1012 LG",
        "country_code": "NL",
    },
    # Only the 3PL's warehouse has both in full (system_apis/wms/seed.py).
    "order_items": [
        {"seller_sku": "ACME-WR", "quantity_ordered": 2, "item_price": "19.99"},
        {"seller_sku": "ACME-GP", "quantity_ordered": 1, "item_price": "149.00"},
    ],
}


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql).fetchall())


def stopped(pid: int) -> bool:
    """Whether the process is stopped (SIGSTOP: state ``T`` in /proc/<pid>/stat)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


def read_process(pid: int) -> tuple[list[str], dict[str, str], str]:
    cmdline = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    environ = dict(item.decode().split("=", 1) for item in raw if b"=" in item)
    return cmdline, environ, os.readlink(f"/proc/{pid}/cwd")


def token(gateway: str, secrets: dict[str, str], client_id: str) -> str:
    resp = httpx.post(
        f"{gateway}/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, secrets[client_id])
    )
    return str(resp.json()["access_token"])


@pytest.fixture
def suite_dir(tmp_path: Path) -> Iterator[Path]:
    if not Path("/proc/self/environ").exists():
        skip_or_fail("/proc is needed to read the fulfilment process's command line and environment")
    yield tmp_path / "var"


def test_sigkill_after_the_erp_invoiced_a_shipment_invoices_it_once(suite_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")} | ENV
    suite_dir.mkdir(parents=True)
    restarted: subprocess.Popen[bytes] | None = None
    with (suite_dir / "launcher.out").open("ab") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "interchange.cli", "up", "--free-ports", "--data-dir", str(suite_dir)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def running() -> dict[str, Any] | None:
            path = suite_dir / "suite.json"
            info = json.loads(path.read_text()) if path.exists() else {}
            up = info.get("state") == "running" and all(ready(u) for u in info["services"].values())
            return info if up else None

        info = wait_until(running, seconds=120, what="the suite")
        gateway, fulfillment_url = info["gateway"], info["services"]["fulfillment"]
        pid = int(info["pids"]["fulfillment"])
        secrets = json.loads((suite_dir / "secrets.json").read_text())
        market = {"Authorization": f"Bearer {token(gateway, secrets, 'acme-market')}"}
        taken = httpx.post(f"{gateway}/marketplace/v1/orders", json=ORDER, headers=market | {"Idempotency-Key": "o1"})
        assert taken.status_code == 202, taken.text

        # The fulfilment process's own API, as the partners' experience API calls it for the 3PL.
        partners = {
            "Authorization": f"Bearer {token(gateway, secrets, 'svc-fulfillment_partners')}",
            "X-Interchange-Partner": "northwind-3pl",
        }
        with httpx.Client(base_url=fulfillment_url, headers=partners, timeout=30) as api:
            request = wait_until(
                lambda: api.get("/v1/fulfillment-requests").json()["items"], seconds=90, what="a fulfilment request"
            )[0]
            asn = {
                "shipment_id": "ASN-K1",
                "request_id": request["request_id"],
                "order_id": request["order_id"],
                "warehouse": request["warehouse"],
                "carrier": "DHL",
                "tracking_number": "JD0146",
                "shipped_at": "2026-12-07T23:00:00Z",
                "lines": [{k: line[k] for k in ("line_no", "sku", "quantity")} for line in request["lines"]],
            }
            posted = api.post("/v1/shipments", json=asn, headers={"Idempotency-Key": "asn-k1"})
            assert posted.status_code == 202, posted.text

            wait_until(lambda: stopped(pid), seconds=90, what="the fulfilment process to stop at invoice_answered")
            erp, fulfil = suite_dir / "erp.db", suite_dir / "fulfillment.db"
            assert rows(erp, "SELECT shipment_ref FROM erp_invoices") == [("ASN-K1",)]  # invoiced below
            assert rows(fulfil, "SELECT saga_step, invoice_number FROM shipments") == [
                ("invoice", None)
            ]  # not recorded

            cmdline, environ, cwd = read_process(pid)
            os.kill(launcher.pid, signal.SIGSTOP)  # its supervisor would restart an armed copy
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not ready(fulfillment_url), seconds=10, what="the fulfilment process to go down")
            disarmed = environ | {"INTERCHANGE_FULFILLMENT_INJECTION_POINT": ""}
            with (suite_dir / "logs" / "fulfillment-restarted.log").open("ab") as out:
                restarted = subprocess.Popen(cmdline, env=disarmed, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
            wait_until(lambda: ready(fulfillment_url), seconds=60, what="the restarted fulfilment process")

            done = "SELECT status, invoice_number FROM shipments WHERE NOT saga_active"
            [(status, number)] = wait_until(lambda: rows(fulfil, done), seconds=60, what="the shipment saga to end")
            invoices = rows(erp, "SELECT shipment_ref, count(*) FROM erp_invoices GROUP BY shipment_ref")
            first = rows(erp, "SELECT inv_no FROM erp_invoices")[0][0]
            announced = "SELECT count(*) FROM event_outbox WHERE type = 'com.interchange.shipment.confirmed.v1'"
            assert invoices == [("ASN-K1", 1)]  # exactly one invoice
            assert status == "notified" and number == f"INV-{first:06d}"  # the first one, recorded
            assert rows(fulfil, announced) == [(1,)]  # announced once
    finally:
        if restarted is not None:
            restarted.terminate()
            restarted.wait(timeout=30)
        if launcher.poll() is None:
            os.kill(launcher.pid, signal.SIGCONT)
            launcher.send_signal(signal.SIGTERM)
            launcher.wait(timeout=60)
