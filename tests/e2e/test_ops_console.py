"""The ops console in a real headless browser against the real suite (`interchange up --free-ports`,
every service its own process): an operator signs in with an ops client, finds an order by its
channel order id, opens its timeline, and replays it from the exception queue; it leaves the queue
and the replay is audited (who, why) on its timeline.

The order parks because the orders service's CRM is a stand-in that answers 503 until the test
says the CRM is back (then it forwards to the real CRM): retries run out at record_activity.
Screenshots of each page go to the test's directory, or to INTERCHANGE_OPS_SCREENSHOTS (``docs``
refreshes the docs' ones).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.processes import ready, wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
OPERATOR = "ops-alice"
OPERATOR_SCOPES = ("ops", "orders:admin", "inventory:read", "inventory:write", "storefront:admin")
ORDER_ITEM = {"seller_sku": "ACME-WB", "quantity_ordered": 1, "item_price": "19.99"}


class CrmStandIn:
    """The orders service's CRM: 503 while ``down``, else each call forwarded to the real CRM."""

    def __init__(self, data_dir: Path) -> None:
        self.down = True
        self.data_dir = data_dir
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if stand_in.down:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}}
                resp = httpx.request(
                    self.command, stand_in.crm_url() + self.path, headers=headers, content=body, timeout=10
                )
                self.send_response(resp.status_code)
                for key in ("content-type", "location"):
                    if key in resp.headers:
                        self.send_header(key, resp.headers[key])
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def crm_url(self) -> str:
        return str(json.loads((self.data_dir / "suite.json").read_text())["services"]["crm"])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Suite:
    def __init__(self, data_dir: Path, crm: CrmStandIn) -> None:
        self.data_dir = data_dir
        env = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")}
        env |= {
            "INTERCHANGE_ORDERS_CRM_URL": crm.url,
            "INTERCHANGE_ORDERS_RETRY_MAX_ATTEMPTS": "2",
            "INTERCHANGE_ORDERS_RETRY_BACKOFF_INITIAL": "0.2",
            "INTERCHANGE_ORDERS_RETRY_BACKOFF_MAX": "0.5",
        }
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log = data_dir / "launcher.out"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "interchange.cli", "up", "--free-ports", "--data-dir", str(data_dir)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.services: dict[str, str] = wait_until(self._ready, seconds=120, what="the suite to be ready")

    def _ready(self) -> dict[str, str] | None:
        if self.process.poll() is not None:
            raise AssertionError(f"launcher exited early:\n{self.log.read_text(errors='replace')}")
        suite_file = self.data_dir / "suite.json"
        if not suite_file.exists():
            return None
        services = dict(json.loads(suite_file.read_text())["services"])
        return services if "ops" in services and all(ready(u) for u in services.values()) else None

    def client_secret(self, client_id: str) -> str:
        return str(json.loads((self.data_dir / "secrets.json").read_text())[client_id])

    def create_ops_client(self) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "interchange.cli", "clients", "create", "--kind", "internal", "--client-id",
             OPERATOR, *(f"--scope={scope}" for scope in OPERATOR_SCOPES), "--tier", "internal",
             "--data-dir", str(self.data_dir)],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        found = re.search(r"client_secret=(\S+)", done.stdout)
        assert found, done.stdout
        return found.group(1)

    def token(self, client_id: str, secret: str) -> str:
        resp = httpx.post(
            f"{self.services['gateway']}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )
        resp.raise_for_status()
        return str(resp.json()["access_token"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


@pytest.fixture
def crm(tmp_path: Path) -> Iterator[CrmStandIn]:
    stand_in = CrmStandIn(tmp_path / "var")
    yield stand_in
    stand_in.close()


@pytest.fixture
def suite(tmp_path: Path, crm: CrmStandIn) -> Iterator[Suite]:
    running = Suite(tmp_path / "var", crm)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("INTERCHANGE_OPS_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def submit_order(suite: Suite, channel_order_id: str) -> None:
    partner = "acme-market"
    token = suite.token(partner, suite.client_secret(partner))
    body = {
        "marketplace_order_id": channel_order_id,
        "currency_code": "EUR",
        "buyer": {"name": "Jane Doe", "email": "jane@example.test"},
        "shipping_address": {"recipient": "Jane Doe", "street": "Damrak 1", "city": "Amsterdam",
                             "zip": "1012 LG", "country_code": "NL"},
        "order_items": [ORDER_ITEM],
    }  # fmt: skip
    resp = httpx.post(
        f"{suite.services['gateway']}/marketplace/v1/orders", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 202, resp.text


def parked_order_id(suite: Suite, token: str, channel_order_id: str) -> str | None:
    resp = httpx.get(f"{suite.services['orders']}/v1/admin/exceptions", headers={"Authorization": f"Bearer {token}"})
    resp.raise_for_status()
    return next((i["order_id"] for i in resp.json()["items"] if i["channel_order_id"] == channel_order_id), None)


def submit_over_credit(suite: Suite, po_number: str) -> None:
    """A reseller's purchase order over its account's credit limit (Borealis: 5,000.00 EUR): the
    saga holds it for credit review."""
    reseller = "borealis-hw"
    token = suite.token(reseller, suite.client_secret(reseller))
    body = {
        "po_number": po_number,
        "lines": [{"sku": "WIDGET-BLUE", "quantity": {"value": "400", "unit": "EA"}}],
        "ship_to": {"name": "Borealis Hardware GmbH", "line1": "Hafenstrasse 12", "city": "Hamburg",
                    "postal_code": "20457", "country": "DE"},
    }  # fmt: skip
    resp = httpx.post(
        f"{suite.services['gateway']}/b2b/v1/purchase-orders",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": po_number},
    )
    assert resp.status_code == 202, resp.text


def held_for_credit(suite: Suite, token: str) -> str | None:
    resp = httpx.get(f"{suite.services['orders']}/v1/admin/exceptions", headers={"Authorization": f"Bearer {token}"})
    resp.raise_for_status()
    return next((i["order_id"] for i in resp.json()["items"] if i.get("hold_kind") == "credit_review"), None)


def order_status(suite: Suite, token: str, order_id: str) -> str:
    resp = httpx.get(
        f"{suite.services['orders']}/v1/admin/orders/{order_id}/timeline", headers={"Authorization": f"Bearer {token}"}
    )
    resp.raise_for_status()
    return str(resp.json()["order"]["status"])


def test_an_operator_finds_an_order_follows_it_and_replays_it_from_the_queue(
    suite: Suite, crm: CrmStandIn, browser_page: Page, external_requests: list[str], shots: Path
) -> None:
    secret = suite.create_ops_client()
    ops_token = suite.token(OPERATOR, secret)
    submit_order(suite, "MP-OPS-1")
    order_id = wait_until(
        lambda: parked_order_id(suite, ops_token, "MP-OPS-1"), seconds=60, what="MP-OPS-1 to park at the CRM"
    )
    page = browser_page
    console = suite.services["ops"]

    # Sign in: the console sends a stranger to the form.
    page.goto(f"{console}/console")
    assert page.url == f"{console}/console/login"
    page.fill("#client_id", OPERATOR)
    page.fill("#client_secret", secret)
    page.screenshot(path=shots / "ops-console-login.png")
    page.click("button[type=submit]")
    page.wait_for_selector(f"text=Signed in as {OPERATOR}")

    # Search by the channel's order id, open the timeline.
    page.fill("input[name=reference]", "MP-OPS-1")
    page.click("form[role=search] button")
    link = page.locator(f"#results a[href='/console/orders/{order_id}']")
    link.wait_for()
    assert "channel_order_id" in page.inner_text("#results")
    page.screenshot(path=shots / "ops-console-search.png", full_page=True)
    link.click()
    page.wait_for_selector("#timeline")
    story = page.inner_text("#timeline")
    assert "record_activity: parked" in story and "CRM" in story and "com.interchange.order" in story
    assert page.inner_text("#order-status").startswith("on_hold")
    page.screenshot(path=shots / "ops-console-timeline.png", full_page=True)

    # The exception queue says why it is there; the CRM comes back; replay it with a reason.
    page.get_by_role("link", name="Exception queue", exact=True).click()
    row = page.locator(f"#parked-{order_id}")
    row.wait_for()
    assert "record_activity" in row.inner_text() and "technical" in row.inner_text()

    def dead_letters_shown() -> bool:  # the storefront's and the bus's (a slow answer says "not shown")
        if "not shown" not in page.inner_text("#dead-letters") + page.inner_text("#bus-letters"):
            return True
        page.reload()
        return False

    wait_until(dead_letters_shown, seconds=60, what="the storefront's dead letters on the exception queue page")
    page.screenshot(path=shots / "ops-console-exceptions.png", full_page=True)
    crm.down = False
    row.locator("input[name=reason]").fill("CRM is back after the outage")
    row.locator("button").click()
    page.wait_for_selector(f"text=replayed from record_activity by {OPERATOR}")
    assert page.locator(f"#parked-{order_id}").count() == 0  # it left the queue
    page.screenshot(path=shots / "ops-console-replayed.png", full_page=True)

    # The saga finishes, and the timeline shows the audited replay.
    wait_until(lambda: order_status(suite, ops_token, order_id) != "on_hold", seconds=60, what="the replayed order")
    page.goto(f"{console}/console/orders/{order_id}")
    story = page.inner_text("#timeline")
    assert f"replay from record_activity by {OPERATOR}" in story and "CRM is back after the outage" in story

    # Partner health from the gateway's audit (written a moment behind the calls), charted by uPlot.
    def partner_listed() -> bool:
        page.goto(f"{console}/console/partners?minutes=15")
        return page.locator("#partner-totals td", has_text="acme-market").count() > 0

    wait_until(partner_listed, seconds=30, what="acme-market in the gateway's audit", interval=1.0)
    page.wait_for_selector(".chart canvas")
    page.screenshot(path=shots / "ops-console-partners.png", full_page=True)

    # Stock: sync per channel, and a reconciliation on demand.
    # The sync table comes from the inventory service's metrics, which have a channel's row only once
    # availability was published to it (after the order's reservation, a moment behind): reload until then.
    page.get_by_role("link", name="Stock", exact=True).click()
    page.wait_for_selector("h1:text-is('Stock')")

    def marketplace_synced() -> bool:
        if page.locator("#sync td", has_text="marketplace").count() > 0:
            return True
        page.reload()
        return False

    wait_until(
        marketplace_synced, seconds=60, what="the marketplace's row in the Stock page's sync table", interval=1.0
    )
    page.get_by_role("button", name="Reconcile now").click()
    page.wait_for_selector("#reconciliation")
    assert re.search(r"Checked \d+ SKUs on \d+ channels", page.inner_text("#reconciliation"))
    # Over time: the lag per minute of the channels told so far and the reconciliation just run, drawn by uPlot.
    page.wait_for_selector(".stock-charts canvas")
    page.wait_for_selector("#drift-chart canvas")
    assert "marketplace" in page.inner_text("#reconcile-runs thead")
    page.screenshot(path=shots / "ops-console-stock.png", full_page=True)

    # Breakers and the ERP's quota as the services report them.
    # Each service's /metrics is scraped as the page loads; one too slow to answer on a busy machine is
    # listed as not answering: reload until every service answered.
    page.get_by_role("link", name="Health", exact=True).click()
    page.wait_for_selector("#breakers")

    def every_service_answered() -> bool:
        if "Not answering" not in page.inner_text("main"):
            return True
        page.reload()
        return False

    wait_until(every_service_answered, seconds=60, what="every service's metrics on the Health page", interval=1.0)
    breakers = page.inner_text("#breakers")
    assert "orders" in breakers and "crm" in breakers and "erp" in breakers
    page.screenshot(path=shots / "ops-console-health.png", full_page=True)

    # A credit hold is approved with the Approve button: its value (decision=approve) reaches the
    # console through htmx, and the order goes on past the credit check.
    submit_over_credit(suite, "PO-OPS-CREDIT-1")
    held = wait_until(lambda: held_for_credit(suite, ops_token), seconds=60, what="PO-OPS-CREDIT-1's credit hold")
    page.get_by_role("link", name="Exception queue", exact=True).click()
    row = page.locator(f"#parked-{held}")
    row.wait_for()
    row.locator("input[name=reason]").fill("Paid in advance")
    row.get_by_role("button", name="Approve", exact=True).click()
    page.wait_for_selector(f"text=credit approved by {OPERATOR}")
    assert page.locator(f"#parked-{held}").count() == 0
    wait_until(
        lambda: order_status(suite, ops_token, held) not in {"on_hold", "received"},
        seconds=60,
        what="the approved order to go on past the credit check",
    )
    assert external_requests == []  # everything the pages load is served by the console
