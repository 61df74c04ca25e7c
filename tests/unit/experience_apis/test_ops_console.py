"""The ops console in process: sign-in through the gateway's token endpoint (refused without the
``ops`` scope), the session cookie, search, an order's timeline across tiers, the exception queue
and an audited replay, all through the orders admin API with the operator's own token. The gateway
and the orders service are faked behind httpx.MockTransport; the browser test runs the real suite
(tests/e2e/test_ops_console.py)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from experience_apis.ops.app import SESSION_COOKIE, create_app
from experience_apis.ops.settings import OpsSettings
from tests.support.tokens import bearer, mint_token, static_verifier

#: What a browser sends: the pages answer failures as HTML to it, as problem+json to anyone else.
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
ALICE_SECRET = "s3cret"  # a fake client of the fake gateway
NOW = "2026-12-07T10:00:00Z"
ORDER = {
    "id": "ord_1",
    "channel": "marketplace",
    "channel_order_id": "MP-7",
    "customer_id": "C-1001",
    "currency": "EUR",
    "status": "on_hold",
    "lines": [{"line_no": 1, "sku": "WIDGET-BLUE", "quantity": {"value": "2", "unit": "EA"}}],
    "created_at": NOW,
    "updated_at": NOW,
}
PARKED = {
    "order_id": "ord_1",
    "channel": "marketplace",
    "channel_order_id": "MP-7",
    "customer_id": "C-1001",
    "status": "on_hold",
    "hold_kind": "technical",
    "failed_step": "create_sales_order",
    "reason": "retries ran out",
    "last_error": "ERP answered 503",
    "parked_at": NOW,
    "age_seconds": 120.0,
}


@dataclass
class Fakes:
    """The gateway's token endpoint and the orders admin API."""

    clients: dict[str, tuple[str, tuple[str, ...]]] = field(
        default_factory=lambda: {
            "ops-alice": (ALICE_SECRET, ("ops", "orders:admin")),
            "acme-market": ("partner", ("marketplace:orders.read",)),
        }
    )
    parked: list[dict[str, Any]] = field(default_factory=lambda: [dict(PARKED)])
    seen: list[httpx.Request] = field(default_factory=list)
    orders_status: int | None = None  # force an answer from the orders service
    issued: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.url.path == "/oauth2/token":
            return self.token(request)
        if request.url.path == "/admin/partner-health":
            return self.partner_health(request)
        if self.orders_status:
            return httpx.Response(self.orders_status, json={"detail": "token expired"})
        path = request.url.path
        if path == "/v1/admin/orders/lookup":
            ref = request.url.params["reference"]
            hits = [{"order": ORDER, "matched_on": ["channel_order_id"]}] if ref == "MP-7" else []
            return httpx.Response(200, json={"reference": ref, "items": hits})
        if path == "/v1/admin/orders/ord_1/timeline":
            return httpx.Response(200, json=timeline())
        if path == "/v1/admin/exceptions":
            return httpx.Response(200, json={"items": self.parked, "next_offset": None})
        if path == "/v1/admin/orders/ord_1/credit-review":
            self.parked.clear()
            body = json.loads(request.content)
            return httpx.Response(
                202,
                json={"id": 2, "order_id": "ord_1", "step": "check_credit", "actor": "ops-alice",
                      "note": f"credit {body['decision']}d: {body['note']}", "requested_at": NOW,
                      "outcome": "succeeded"},
            )  # fmt: skip
        if path == "/v1/admin/orders/ord_1/replay":
            self.parked.clear()
            note = json.loads(request.content)["note"]
            return httpx.Response(
                202,
                json={"id": 1, "order_id": "ord_1", "step": "create_sales_order", "actor": "ops-alice",
                      "note": note, "requested_at": NOW, "outcome": "pending"},
            )  # fmt: skip
        return httpx.Response(404, json={"detail": "no such order"})

    def token(self, request: httpx.Request) -> httpx.Response:
        client_id, _, secret = base64.b64decode(request.headers["authorization"].split()[1]).decode().partition(":")
        known = self.clients.get(client_id)
        if known is None or known[0] != secret:
            return httpx.Response(401, json={"error": "invalid_client"})
        self.issued.append(mint_token(*known[1], client_id=client_id))
        return httpx.Response(200, json={"access_token": self.issued[-1], "expires_in": 900})

    def partner_health(self, request: httpx.Request) -> httpx.Response:
        bucket = {"calls": 10, "server_errors": 1, "refused": 2, "throttled": 3, "max_latency_ms": 90.0}
        buckets = [bucket | {"start": 1_800_000_000.0, "mean_latency_ms": 20.0},
                   bucket | {"start": 1_800_000_060.0, "mean_latency_ms": 40.0, "calls": 30}]  # fmt: skip
        return httpx.Response(
            200,
            json={
                "since": 1_799_999_000.0,
                "bucket_seconds": 60,
                "partners": [{"partner_id": "acme-market", "buckets": buckets}],
            },
        )

    def orders_calls(self) -> list[httpx.Request]:
        return [r for r in self.seen if r.url.host == "orders.test"]


def timeline() -> dict[str, Any]:
    return {
        "order": ORDER,
        "history": [{"from_status": None, "to_status": "received", "reason": None, "correlation_id": "c-1",
                     "changed_at": "2026-12-07T09:00:00Z"}],
        "steps": [{"step": "reserve_stock", "outcome": "succeeded", "detail": None, "attempt": 1,
                   "correlation_id": "c-1", "at": "2026-12-07T09:00:01Z"},
                  {"step": "create_sales_order", "outcome": "parked", "detail": "ERP answered 503", "attempt": 3,
                   "correlation_id": "c-1", "at": "2026-12-07T09:00:02Z"}],
        "replays": [],
        "events": [{"id": "e1", "type": "com.interchange.order.received.v1", "source": "orders", "subject": "ord_1",
                    "time": "2026-12-07T09:00:00Z", "correlationid": "c-1", "data": {}, "published_at": NOW}],
    }  # fmt: skip


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


@pytest.fixture
async def console(tmp_path: Path, fakes: Fakes) -> AsyncIterator[httpx.AsyncClient]:
    settings = OpsSettings.load(
        "ops", data_dir=tmp_path, log_json=False, gateway_url="http://gateway.test", orders_url="http://orders.test"
    )
    app = create_app(settings, transport=httpx.MockTransport(fakes.handle), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ops.test", headers=BROWSER) as client:
            yield client


async def sign_in(
    console: httpx.AsyncClient, client_id: str = "ops-alice", secret: str = ALICE_SECRET
) -> httpx.Response:
    return await console.post("/console/login", data={"client_id": client_id, "client_secret": secret})


async def test_pages_send_a_stranger_to_the_sign_in_form(console: httpx.AsyncClient) -> None:
    for path in ("/console", "/console/exceptions", "/console/orders/ord_1"):
        resp = await console.get(path)
        assert (resp.status_code, resp.headers["location"]) == (303, "/console/login")
    htmx = await console.post("/console/exceptions/ord_1/replay", data={"reason": "x"}, headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == "/console/login"


async def test_sign_in_is_refused_without_the_ops_scope_or_with_a_wrong_secret(
    console: httpx.AsyncClient, fakes: Fakes
) -> None:
    partner = await sign_in(console, "acme-market", "partner")
    assert partner.status_code == 403
    assert "has no &#39;ops&#39; scope" in partner.text
    wrong = await sign_in(console, "ops-alice", "guess")
    assert wrong.status_code == 401 and "Unknown client id or wrong secret" in wrong.text
    assert SESSION_COOKIE not in console.cookies
    assert (await console.get("/console")).status_code == 303


async def test_signed_in_the_operator_searches_with_their_own_token(console: httpx.AsyncClient, fakes: Fakes) -> None:
    resp = await sign_in(console)
    assert (resp.status_code, resp.headers["location"]) == (303, "/console")
    cookie = resp.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = await console.get("/console", params={"reference": "MP-7"})
    assert page.status_code == 200
    assert 'href="/console/orders/ord_1"' in page.text and "channel_order_id" in page.text
    assert "No order has the reference" in (await console.get("/console", params={"reference": "NOPE"})).text
    lookup = fakes.orders_calls()[0]
    assert lookup.headers["authorization"] == f"Bearer {fakes.issued[-1]}"  # ops-alice's own token
    assert lookup.url.params["reference"] == "MP-7"


async def test_the_timeline_merges_status_steps_and_events_by_tier(console: httpx.AsyncClient) -> None:
    await sign_in(console)
    page = await console.get("/console/orders/ord_1")
    assert page.status_code == 200
    rows = page.text.split("<tbody>")[1]
    order = [tier for tier in ("orders", "events", "WMS", "ERP") if f"tier-{tier}" in rows]
    assert order == ["orders", "events", "WMS", "ERP"]
    assert rows.index("reserve_stock") < rows.index("create_sales_order: parked")
    missing = await console.get("/console/orders/ord_nope")
    assert missing.status_code == 404 and "no such order" in missing.text


async def test_a_replay_needs_a_reason_and_the_order_leaves_the_queue(console: httpx.AsyncClient, fakes: Fakes) -> None:
    await sign_in(console)
    queue = await console.get("/console/exceptions")
    assert "ERP answered 503" in queue.text and 'id="parked-ord_1"' in queue.text
    hx = {"HX-Request": "true"}
    blank = await console.post("/console/exceptions/ord_1/replay", data={"reason": "  "}, headers=hx)
    assert blank.status_code == 422 and "Say why the order is replayed" in blank.text
    assert not any(r.url.path.endswith("/replay") for r in fakes.orders_calls())
    done = await console.post("/console/exceptions/ord_1/replay", data={"reason": "ERP is back"}, headers=hx)
    assert done.status_code == 200
    assert done.text.lstrip().startswith('<section id="queue">')  # the fragment htmx swaps in
    assert "replayed from create_sales_order by ops-alice: ERP is back" in done.text
    assert 'id="parked-ord_1"' not in done.text and "The exception queue is empty" in done.text
    replay = next(r for r in fakes.orders_calls() if r.url.path.endswith("/replay"))
    assert json.loads(replay.content) == {"note": "ERP is back"} and replay.headers["idempotency-key"]


async def test_a_token_the_services_no_longer_accept_signs_the_operator_out(
    console: httpx.AsyncClient, fakes: Fakes
) -> None:
    await sign_in(console)
    fakes.orders_status = 401
    resp = await console.get("/console/exceptions")
    assert (resp.status_code, resp.headers["location"]) == (303, "/console/login?expired=1")
    assert (await console.get("/console")).status_code == 303


async def test_the_api_needs_the_ops_scope_and_forwards_the_callers_token(
    console: httpx.AsyncClient, fakes: Fakes
) -> None:
    refused = await console.get("/v1/orders/search", params={"reference": "MP-7"}, headers=bearer("orders:admin"))
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    headers = bearer("ops", "orders:admin", client_id="ops-script")
    found = await console.get("/v1/orders/search", params={"reference": "MP-7"}, headers=headers)
    assert found.status_code == 200, found.text
    assert [i["order"]["id"] for i in found.json()["items"]] == ["ord_1"]
    assert fakes.orders_calls()[-1].headers["authorization"] == headers["Authorization"]


ORDERS_METRICS = """\
# TYPE interchange_http_upstream_circuit_state gauge
interchange_http_upstream_circuit_state{upstream="crm",state="closed"} 0.0
interchange_http_upstream_circuit_state{upstream="crm",state="opened"} 1.0
interchange_http_upstream_circuit_state{upstream="erp",state="closed"} 1.0
# TYPE interchange_orders_exception_queue_size gauge
interchange_orders_exception_queue_size 3.0
# TYPE interchange_orders_exception_queue_oldest_age_seconds gauge
interchange_orders_exception_queue_oldest_age_seconds 600.0
"""
ERP_METRICS = """\
# TYPE interchange_erp_calls counter
interchange_erp_calls_total{outcome="served"} 120.0
interchange_erp_calls_total{outcome="throttled"} 7.0
# TYPE interchange_erp_quota_used_ratio gauge
interchange_erp_quota_used_ratio 0.25
"""


async def test_the_health_page_shows_what_the_services_report_and_who_does_not_answer(
    tmp_path: Path, fakes: Fakes
) -> None:
    scraped: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/metrics":
            return fakes.handle(request)
        scraped.append(request)
        texts = {"orders.test": ORDERS_METRICS, "erp.test": ERP_METRICS}
        if request.url.host not in texts:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, text=texts[request.url.host])

    settings = OpsSettings.load(
        "ops",
        data_dir=tmp_path,
        log_json=False,
        gateway_url="http://gateway.test",
        orders_url="http://orders.test",
        erp_url="http://erp.test",
        wms_url="http://wms.test",
        health_services=["orders", "erp", "wms"],
    )
    app = create_app(settings, transport=httpx.MockTransport(handle), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ops.test", headers=BROWSER
        ) as console:
            await sign_in(console)
            page = await console.get("/console/health")
    assert page.status_code == 200
    breakers = page.text.split('id="breakers"')[1].split("</table>")[0]
    assert re.findall(r"<td>(\w+)</td><td>(\w+)</td><td class=\"state-[\w-]+\">([\w-]+)</td>", breakers) == [
        ("orders", "crm", "opened"),
        ("orders", "erp", "closed"),
    ]
    assert "Not answering: wms" in page.text
    quota = page.text.split('id="erp-quota"')[1]
    assert "25.0 %" in quota and "<dd>120</dd>" in quota and "<dd>7</dd>" in quota
    assert "<dd>3</dd>" in page.text.split('id="queue-health"')[1]
    assert {r.headers["authorization"] for r in scraped} == {f"Bearer {fakes.issued[-1]}"}


async def test_partner_health_totals_and_chart_series_come_from_the_gateways_audit(
    console: httpx.AsyncClient, fakes: Fakes
) -> None:
    await sign_in(console)
    page = await console.get("/console/partners", params={"minutes": 60})
    assert page.status_code == 200, page.text
    totals = page.text.split('id="partner-totals"')[1].split("</table>")[0]
    cells = re.findall(r"<td>([^<]*)</td>", totals)
    assert cells == ["acme-market", "40", "2", "4", "6", "35.0 ms"]  # mean weighted by calls
    data = json.loads(page.text.split('id="partner-data">')[1].split("</script>")[0])
    assert data["until"] - data["since"] == 3600
    series = data["partners"]
    assert series[0]["starts"] == [1_800_000_000.0, 1_800_000_060.0] and series[0]["calls"] == [10, 30]
    asked = next(r for r in fakes.seen if r.url.path == "/admin/partner-health")
    assert asked.headers["authorization"] == f"Bearer {fakes.issued[-1]}"
    assert (asked.url.params["minutes"], asked.url.params["bucket_seconds"]) == ("60", "60")


async def test_a_credit_hold_is_approved_or_rejected_with_a_reason_not_replayed(
    console: httpx.AsyncClient, fakes: Fakes
) -> None:
    fakes.parked[0] |= {"hold_kind": "credit_review", "failed_step": "check_credit", "reason": "over the limit"}
    await sign_in(console)
    queue = await console.get("/console/exceptions")
    row = queue.text.split('id="parked-ord_1"')[1].split("</tr>")[0]
    assert 'value="approve"' in row and 'value="reject"' in row and "/replay" not in row
    hx = {"HX-Request": "true"}
    odd = await console.post(
        "/console/exceptions/ord_1/credit-review", data={"decision": "maybe", "reason": "x"}, headers=hx
    )
    assert odd.status_code == 422 and "Approve or reject the order." in odd.text
    done = await console.post(
        "/console/exceptions/ord_1/credit-review", data={"decision": "approve", "reason": "limit raised"}, headers=hx
    )
    assert done.status_code == 200
    assert "Order ord_1: credit approved by ops-alice: limit raised" in done.text
    assert "The exception queue is empty" in done.text
    sent = [r for r in fakes.orders_calls() if r.url.path.endswith("/credit-review")]
    assert [json.loads(r.content) for r in sent] == [{"decision": "approve", "note": "limit raised"}]
    assert sent[0].headers["idempotency-key"]


async def test_a_caller_that_does_not_read_html_gets_the_problem_json(console: httpx.AsyncClient) -> None:
    await sign_in(console)
    headers = {"Accept": "application/json"}
    blank = await console.post("/console/exceptions/ord_1/replay", data={"reason": ""}, headers=headers)
    assert blank.status_code == 422 and blank.headers["content-type"] == "application/problem+json"
    assert blank.json()["errors"][0]["pointer"] == "/reason"
    missing = await console.get("/console/orders/ord_nope", headers=headers)
    assert missing.status_code == 404 and missing.json()["detail"] == "no such order"
