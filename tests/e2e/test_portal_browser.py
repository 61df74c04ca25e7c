"""The developer portal against the real suite (issue 13): ``interchange up --free-ports`` starts
every service; Debian's chromium (Playwright, tests/support/browser.py) opens /developers offline
(any request beyond loopback is refused and recorded), lists the APIs, authorizes with the demo
partner's client credentials and "tries" the example order: 202. Every request example of every
partner-facing contract is also sent through the gateway.

``INTERCHANGE_PORTAL_SCREENSHOT=docs/portal.png`` writes the screenshot of the try-it answer there
(how docs/portal.png is made); otherwise it goes to the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import yaml

from gateway.portal.catalog import METHODS, is_partner_facing
from gateway.portal.examples import operation_example
from gateway.routing import default_contracts_dir
from tests.support.launcher import launched_suite

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PARTNER = "acme-market"
#: The examples' subscription URL; its host resolves nowhere here, so the suite is told to trust it
#: (as an operator would for an in-house receiver).
WEBHOOK_HOST = "hooks.acme-market.example"
THREE_PL_WEBHOOK_HOST = "hooks.northwind-3pl.example"
#: Path parameters whose example names something the suite makes at run time (a subscription, a
#: delivery, the interchange id of a purchase order, a 3PL's fulfilment request or ASN): the example
#: call is valid and answers the contract's 404 for an id that is not there.
RUNTIME_IDS = frozenset({"webhook_id", "delivery_id", "order_id", "request_id", "asn", "quote_id"})
#: Operations whose example needs what the suite makes at run time only (a 3PL's fulfilment request,
#: an authorised return, goods shipped; a field mapping, which the demo marketplace partner has none of:
#: tests/e2e/test_onboarding.py sends a real dialect order): the example call is valid and answers the
#: contract's refusal.
RUNTIME_ANSWERS = {
    "postShipmentNotice": "404",
    "postReturnReceipt": "404",
    "requestReturnV2": "422",
    "submitMarketplaceOrderInDialectV2": "422",
}
#: Who calls each partner API's examples: its own kind of partner (a reseller for b2b, a 3PL).
CALLER = {"marketplace": PARTNER, "b2b": "borealis-hw", "fulfillment_partners": "northwind-3pl"}


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("portal") / "var"
    settings = {
        "INTERCHANGE_MARKETPLACE_WEBHOOK_ALLOW_HOSTS": json.dumps([WEBHOOK_HOST]),
        "INTERCHANGE_FULFILLMENT_PARTNERS_WEBHOOK_ALLOW_HOSTS": json.dumps([THREE_PL_WEBHOOK_HOST]),
    }
    with launched_suite(data_dir, settings=settings) as described:
        secrets = json.loads((data_dir / "secrets.json").read_text())
        yield {"gateway": described["gateway"], "secret": secrets[PARTNER], "secrets": secrets}


def test_the_portal_renders_offline_lists_the_apis_and_try_it_submits_the_example_order(
    suite: dict[str, Any], browser_page: Page, external_requests: list[str], tmp_path: Path
) -> None:
    gateway, page = suite["gateway"], browser_page

    page.goto(f"{gateway}/developers")
    listed = page.locator("tr.version").evaluate_all("rows => rows.map(r => r.dataset.version)")
    assert listed == ["b2b-v1", "fulfillment_partners-v1", "marketplace-v2", "marketplace-v1"]

    page.goto(f"{gateway}/developers/marketplace-v1")
    assert "2027-06-30" in page.locator("#deprecation").inner_text()

    page.goto(f"{gateway}/developers/marketplace-v2?client_id={PARTNER}")
    v2 = yaml.safe_load((default_contracts_dir() / "marketplace" / "v2.yaml").read_text())
    for item in v2["paths"].values():  # every operation of the version is on the page
        for op in item.values():
            page.locator(f"[id^='operations-'][id$='-{op['operationId']}']").first.wait_for()

    # "Authorize": client credentials at the gateway's token endpoint, every scope ticked.
    page.locator("button.authorize").first.click()
    dialog = page.locator(".modal-ux")
    assert dialog.locator("input#client_id_clientCredentials, input[id^='client_id']").first.input_value() == PARTNER
    dialog.locator("input[id^='client_secret']").first.fill(suite["secret"])
    for box in dialog.locator("input[type=checkbox]").all():  # hidden; their labels are the boxes drawn
        dialog.locator(f"label[for='{box.get_attribute('id')}']").click()
        assert box.is_checked()
    dialog.locator("button.modal-btn.authorize").first.click()
    dialog.locator("button.modal-btn", has_text="Logout").first.wait_for()
    dialog.locator("button.btn-done, button.close-modal").first.click()

    # "Try it out" on POST /orders with the operation's own example.
    operation = page.locator("#operations-marketplace-submitMarketplaceOrderV2")
    operation.locator(".opblock-summary").first.click()
    operation.locator("button.try-out__btn").click()
    key = operation.locator("tr[data-param-name='idempotency-key'] input").first
    if not key.input_value():
        key.fill("acme-ACME-100234")
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "202", operation.locator(".live-responses-table").inner_text()
    answer = operation.locator(".live-responses-table tr.response .microlight").first.inner_text()
    assert json.loads(answer)["marketplace_order_id"] == "ACME-100234"

    shot = tmp_path / "portal.png"
    status.scroll_into_view_if_needed()
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if target := os.environ.get("INTERCHANGE_PORTAL_SCREENSHOT"):
        shutil.copyfile(shot, ROOT / target)

    assert external_requests == []


def partner_operations() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for file in sorted(default_contracts_dir().glob("*/v*.yaml")):
        spec = yaml.safe_load(file.read_text())
        if not is_partner_facing(spec):
            continue
        for path, item in spec["paths"].items():
            for method in METHODS:
                if isinstance(item.get(method), dict):
                    yield file.parent.name, method.upper(), path, item[method]


def test_every_request_example_goes_through_the_gateway_as_its_contract_says(suite: dict[str, Any]) -> None:
    gateway = suite["gateway"]
    bearers = {}
    for api, client_id in CALLER.items():
        token = httpx.post(
            f"{gateway}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, suite["secrets"][client_id]),
        )
        assert token.status_code == 200, token.text
        bearers[api] = {"Authorization": f"Bearer {token.json()['access_token']}"}
    answers = {}
    with httpx.Client(base_url=gateway, timeout=30) as client:
        for api, method, path, op in partner_operations():
            bearer = bearers[api]  # a partner API without a caller here is a KeyError: add it to CALLER
            example = operation_example(op)
            url = f"/{api}" + path.format(**example.path_params)
            resp = client.request(
                method,
                url,
                params=example.query,
                headers={**bearer, **{k: str(v) for k, v in example.headers.items()}},
                json=example.request_body,
            )
            expected = RUNTIME_ANSWERS.get(op["operationId"])
            expected = expected or ("404" if RUNTIME_IDS & set(example.path_params) else example.status)
            answers[f"{method} /{api}{path}"] = (str(resp.status_code), expected, resp.text[:300])
    wrong = {where: answer for where, answer in answers.items() if answer[0] != answer[1]}
    assert wrong == {}
    assert {where.split("/")[1] for where in answers} == set(CALLER)
    assert len(answers) == 41  # marketplace 20 (v1 and v2), b2b 10, fulfillment_partners 11
