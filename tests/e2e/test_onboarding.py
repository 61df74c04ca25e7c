"""Onboarding a second marketplace needs no code (issue 12), on real processes
(`interchange up --free-ports`): `interchange partners onboard --template marketplace` onboards
globex-market with the field mapping in tests/fixtures/onboarding/globex-mapping.yaml; with the
credentials it printed once, Globex sends an order in its own field dialect
(tests/fixtures/onboarding/globex-order.json) through the gateway, and it reaches ACCEPTED with an
ERP sales order on Globex's account.

The proof of "0 lines changed": nothing in this test, nor anything it runs, is specific to Globex
except the two fixture files and the command's options. The process and system tiers (orders,
inventory, fulfilment, ERP, WMS, CRM) and the marketplace's intake see a version 2 order like any
other partner's."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.launcher import ROOT, launched_suite, suite_env
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

FIXTURES = ROOT / "tests" / "fixtures" / "onboarding"


@pytest.fixture
def suite(tmp_path: Path) -> Iterator[tuple[dict[str, Any], Path]]:
    data_dir = tmp_path / "var"
    with launched_suite(data_dir) as described:
        yield described, data_dir


def interchange(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interchange.cli", "--quiet", *args, "--data-dir", str(data_dir)],
        cwd=ROOT,
        env=suite_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def bearer(gateway: str, client_id: str, secret: str) -> dict[str, str]:
    resp = httpx.post(f"{gateway}/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def logs(data_dir: Path) -> str:
    """The end of the logs of the services on the path, for a failed assertion's message."""
    folder = data_dir / "logs"
    return "\n".join(
        f"--- {n}\n" + "\n".join((folder / f"{n}.log").read_text().splitlines()[-15:])
        for n in ("gateway", "marketplace", "orders")
        if (folder / f"{n}.log").exists()
    )


def test_a_second_marketplace_onboarded_from_fixture_files_gets_its_orders_accepted(
    suite: tuple[dict[str, Any], Path],
) -> None:
    described, data_dir = suite
    gateway = str(described["gateway"])

    onboarded = interchange(
        data_dir,
        "partners", "onboard", "--template", "marketplace", "--partner-id", "globex-market",
        "--customer-id", "C-1002", "--currency", "EUR",
        "--listing", "GLX-WIDGET-B=WIDGET-BLUE", "--listing", "GLX-USB-C=CABLE-USB-C",
        "--mapping", str(FIXTURES / "globex-mapping.yaml"), "--json",
    )  # fmt: skip
    assert onboarded.returncode == 0, onboarded.stderr + logs(data_dir)
    credentials = json.loads(onboarded.stdout)
    assert credentials["client_id"] == "globex-market" and credentials["records"]["field_mapping"] is True
    globex = bearer(gateway, credentials["client_id"], credentials["client_secret"])

    order = json.loads((FIXTURES / "globex-order.json").read_text())
    with httpx.Client(base_url=f"{gateway}/marketplace/v2", timeout=10) as marketplace:
        submitted = marketplace.post("/dialect-orders", json=order, headers={**globex, "Idempotency-Key": "glx-e2e-1"})
        assert submitted.status_code == 202, submitted.text + logs(data_dir)
        assert submitted.json()["status_url"] == "/marketplace/v2/orders/GLX-5001"

        status = wait_until(
            lambda: (s := marketplace.get("/orders/GLX-5001", headers=globex).json())["seller_order_number"] and s,
            seconds=60,
            what="Globex's order to be booked in the ERP",
        )
        assert status["order_status"] == "ACCEPTED", status
        assert [(line["seller_sku"], line["quantity"]) for line in status["lines"]] == [
            ("GLX-WIDGET-B", 2),
            ("GLX-USB-C", 1),
        ]

        # A field Globex got wrong is named in Globex's own words.
        order["items"][0]["count"] = 0
        order["purchase"]["id"] = "GLX-5002"
        refused = marketplace.post("/dialect-orders", json=order, headers={**globex, "Idempotency-Key": "glx-e2e-2"})
        assert refused.status_code == 422, refused.text
        assert [e["pointer"] for e in refused.json()["errors"]] == ["#/items/0/count"]

    secrets = json.loads((data_dir / "secrets.json").read_text())
    erp = httpx.get(
        f"{described['services']['erp']}/v1/sales-orders/{status['seller_order_number']}",
        headers=bearer(gateway, "svc-orders", secrets["svc-orders"]),
        timeout=10,
    )
    assert erp.status_code == 200, erp.text
    assert erp.json()["customer_id"] == "C-1002"
