"""The ops console's stock page: sync lag and drift per channel from the inventory service's
/metrics, and a reconciliation on demand through its API with the operator's own token (a token
without inventory:write gets the inventory service's refusal on the page)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from experience_apis.ops.app import create_app
from experience_apis.ops.settings import OpsSettings
from tests.support.tokens import static_verifier
from tests.unit.experience_apis.test_ops_console import Fakes, sign_in

INVENTORY_METRICS = """\
# TYPE interchange_inventory_sync_lag_seconds histogram
interchange_inventory_sync_lag_seconds_bucket{channel="marketplace",le="0.5"} 3.0
interchange_inventory_sync_lag_seconds_bucket{channel="marketplace",le="1.0"} 3.0
interchange_inventory_sync_lag_seconds_bucket{channel="marketplace",le="+Inf"} 4.0
interchange_inventory_sync_lag_seconds_count{channel="marketplace"} 4.0
interchange_inventory_sync_lag_seconds_sum{channel="marketplace"} 2.0
# TYPE interchange_inventory_drift_found counter
interchange_inventory_drift_found_total{channel="marketplace"} 5.0
# TYPE interchange_inventory_drift_open gauge
interchange_inventory_drift_open 2.0
"""
REPORT = {
    "checked_at": "2026-12-07T10:00:00Z",
    "skus": 12,
    "channels": 3,
    "drift": [{"sku": "WIDGET-BLUE", "channel": "marketplace", "told": 40, "true": 38, "since": None}],
    "positions_corrected": 1,
    "repaired": True,
}


@pytest.fixture
async def console(tmp_path: Path, fakes: Fakes) -> AsyncIterator[httpx.AsyncClient]:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host != "inventory.test":
            return fakes.handle(request)
        fakes.seen.append(request)
        if request.url.path == "/metrics":
            return httpx.Response(200, text=INVENTORY_METRICS)
        if fakes.orders_status:
            return httpx.Response(fakes.orders_status, json={"detail": "The token lacks inventory:write."})
        return httpx.Response(200, json=REPORT)

    settings = OpsSettings.load(
        "ops",
        data_dir=tmp_path,
        log_json=False,
        gateway_url="http://gateway.test",
        inventory_url="http://inventory.test",
    )
    app = create_app(settings, transport=httpx.MockTransport(handle), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ops.test") as client:
            yield client


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


async def test_sync_lag_and_drift_per_channel_are_read_from_the_inventory_metrics(console: httpx.AsyncClient) -> None:
    await sign_in(console)
    page = await console.get("/console/stock")
    assert page.status_code == 200
    row = re.findall(r"<td>([^<]*)</td>", page.text.split('id="sync"')[1].split("</table>")[0])
    assert row[:3] == ["marketplace", "4", "500.0 ms"] and row[-1] == "5"
    assert "75.0 %" in page.text  # 3 of 4 within a second
    assert '<strong id="drift-open">2</strong>' in page.text


async def test_a_reconciliation_runs_with_the_operators_token_and_shows_the_drift(
    console: httpx.AsyncClient, fakes: Fakes
) -> None:
    await sign_in(console)
    page = await console.post("/console/stock/reconcile", data={"repair": "true"})
    assert page.status_code == 200
    report = page.text.split('id="reconciliation"')[1]
    assert "Checked 12 SKUs on 3 channels" in report and "1 drifting, repaired (1 positions corrected)" in report
    assert "<td>WIDGET-BLUE</td><td>marketplace</td><td>40</td><td>38</td>" in report
    sent = next(r for r in fakes.seen if r.url.path == "/v1/reconciliations")
    assert json.loads(sent.content) == {"repair": True}
    assert sent.headers["authorization"] == f"Bearer {fakes.issued[-1]}"


async def test_a_refused_reconciliation_says_why_on_the_page(console: httpx.AsyncClient, fakes: Fakes) -> None:
    await sign_in(console)
    fakes.orders_status = 403
    page = await console.post("/console/stock/reconcile", data={})
    assert page.status_code == 403
    assert "Not reconciled: The token lacks inventory:write." in page.text
    assert json.loads(next(r for r in fakes.seen if r.url.path == "/v1/reconciliations").content) == {"repair": False}
