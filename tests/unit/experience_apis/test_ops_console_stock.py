"""The ops console's stock page (sync lag and drift per channel from the inventory service's
/metrics and over time from its history, a reconciliation on demand with the operator's own token; a token without
inventory:write gets the inventory service's refusal on the page) and the storefront's dead
letters on the exception page (listed, replayed with a reason)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from experience_apis.ops.app import create_app
from experience_apis.ops.settings import OpsSettings
from experience_apis.ops.stock import history_of
from tests.support.tokens import static_verifier
from tests.unit.experience_apis.test_ops_console import BROWSER, Fakes, sign_in

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
SYNC_HISTORY = {
    "since": "2026-12-07T04:00:00Z",
    "channels": [
        {
            "channel": "marketplace",
            "minutes": [
                {
                    "minute": "2026-12-07T09:58:00Z",
                    "updates": 4,
                    "mean_lag_seconds": 0.25,
                    "max_lag_seconds": 1.5,
                    "on_time_share": 0.75,
                },
                {
                    "minute": "2026-12-07T09:59:00Z",
                    "updates": 1,
                    "mean_lag_seconds": 0.1,
                    "max_lag_seconds": 0.1,
                    "on_time_share": 1.0,
                },
            ],
        }
    ],
}
RECONCILE_HISTORY = {
    "since": "2026-12-06T10:00:00Z",
    "runs": [
        {"checked_at": "2026-12-07T09:00:00Z", "channel": "b2b", "drift": 0, "repaired": True},
        {"checked_at": "2026-12-07T09:00:00Z", "channel": "marketplace", "drift": 2, "repaired": True},
        {"checked_at": "2026-12-07T09:05:00Z", "channel": "marketplace", "drift": 0, "repaired": True},
    ],
}


@pytest.fixture
async def console(tmp_path: Path, fakes: Fakes) -> AsyncIterator[httpx.AsyncClient]:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host != "inventory.test":
            return fakes.handle(request)
        fakes.seen.append(request)
        if request.url.path == "/metrics":
            return httpx.Response(200, text=INVENTORY_METRICS)
        if request.url.path == "/v1/admin/sync-history":
            return httpx.Response(200, json=SYNC_HISTORY)
        if request.url.path == "/v1/admin/reconcile-history":
            if fakes.orders_status == 401:
                return httpx.Response(403, json={"detail": "The access token lacks the scope inventory:read."})
            return httpx.Response(200, json=RECONCILE_HISTORY)
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
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ops.test", headers=BROWSER
        ) as client:
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


async def test_lag_and_drift_over_time_are_charted_from_the_inventory_history(
    console: httpx.AsyncClient, fakes: Fakes
) -> None:
    await sign_in(console)
    page = await console.get("/console/stock", params={"hours": 24})
    assert page.status_code == 200
    asked = [r for r in fakes.seen if r.url.path.startswith("/v1/admin/")]
    assert [(r.url.path, r.url.params["hours"]) for r in asked] == [
        ("/v1/admin/sync-history", "24"),
        ("/v1/admin/reconcile-history", "24"),
    ]
    assert all(r.headers["authorization"] == f"Bearer {fakes.issued[-1]}" for r in asked)
    data = json.loads(page.text.split('<script type="application/json" id="stock-data">')[1].split("</script>")[0])
    [lag] = data["lag"]
    assert (lag["channel"], lag["updates"], lag["mean_lag_ms"], lag["max_lag_ms"], lag["on_time_pct"]) == (
        "marketplace",
        [4, 1],
        [250.0, 100.0],
        [1500.0, 100.0],
        [75.0, 100.0],
    )
    assert lag["minutes"][1] - lag["minutes"][0] == 60
    assert data["until"] - data["since"] == 24 * 3600
    assert data["drift"]["channels"] == ["b2b", "marketplace"]
    assert data["drift"]["drift"] == [[0, None], [2, 0]]  # b2b was not checked at 09:05
    assert 'id="lag-marketplace"' in page.text and 'id="drift-chart"' in page.text
    runs = page.text.split('id="reconcile-runs"')[1].split("</table>")[0]
    assert re.findall(r"<td>([^<]*)</td>", runs) == ["—", "0", "0", "2"]  # newest first
    assert '<script src="/console/static/stock.js" defer></script>' in page.text
    assert (await console.get("/console/static/stock.js")).status_code == 200


async def test_a_history_the_token_may_not_read_is_said_and_the_page_still_shows(
    console: httpx.AsyncClient, fakes: Fakes
) -> None:
    await sign_in(console)
    fakes.orders_status = 401  # this fake refuses the reconcile history with a 403
    page = await console.get("/console/stock")
    assert page.status_code == 200
    assert "No history: The access token lacks the scope inventory:read." in page.text
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


DEAD = {
    "sku": "NOT-IN-SHOP",
    "available": 9,
    "attempts": 7,
    "last_error": "no storefront item",
    "since": "2026-12-07T09:00:00Z",
}


def dead_letters_app(tmp_path: Path, fakes: Fakes, *, refuse: bool = False) -> FastAPI:
    """The console over the fakes, with a storefront whose one dead letter a replay clears."""
    dead = [dict(DEAD)]

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host != "storefront.test":
            return fakes.handle(request)
        fakes.seen.append(request)
        if refuse:
            return httpx.Response(403, json={"detail": "The access token lacks the scope storefront:admin."})
        if request.url.path == "/v1/sync-status":
            return httpx.Response(200, json={"pending": 0, "synced": 3, "dead": len(dead), "dead_letters": dead})
        dead.clear()
        reason = json.loads(request.content)["reason"]
        answer = {"sku": "NOT-IN-SHOP", "available": 9, "status": "pending", "replayed_by": "ops-alice"}
        return httpx.Response(202, json=answer | {"reason": reason, "requested_at": None})

    settings = OpsSettings.load(
        "ops",
        data_dir=tmp_path,
        log_json=False,
        gateway_url="http://gateway.test",
        orders_url="http://orders.test",
        storefront_url="http://storefront.test",
    )
    return create_app(settings, transport=httpx.MockTransport(handle), verifier=static_verifier())


async def test_dead_letters_are_listed_and_a_replay_with_a_reason_clears_one(tmp_path: Path, fakes: Fakes) -> None:
    app = dead_letters_app(tmp_path, fakes)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ops.test", headers=BROWSER
        ) as console:
            await sign_in(console)
            page = await console.get("/console/exceptions")
            assert 'id="dead-NOT-IN-SHOP"' in page.text and "no storefront item" in page.text
            hx = {"HX-Request": "true"}
            blank = await console.post("/console/dead-letters/NOT-IN-SHOP/replay", data={"reason": ""}, headers=hx)
            assert blank.status_code == 422 and "Say why" in blank.text
            assert not any(r.url.path.endswith("/replay") for r in fakes.seen)
            done = await console.post(
                "/console/dead-letters/NOT-IN-SHOP/replay", data={"reason": "item mapped"}, headers=hx
            )
    assert done.status_code == 200
    assert done.text.lstrip().startswith('<section id="dead-letters">')
    assert "NOT-IN-SHOP queued again (9) by ops-alice: item mapped" in done.text
    assert 'id="dead-NOT-IN-SHOP"' not in done.text and "No dead letters." in done.text
    sent = next(r for r in fakes.seen if r.url.path == "/v1/inventory-pushes/NOT-IN-SHOP/replay")
    assert json.loads(sent.content) == {"reason": "item mapped"}
    assert sent.headers["authorization"] == f"Bearer {fakes.issued[-1]}"


async def test_without_storefront_admin_the_queue_still_shows_and_says_why_the_letters_do_not(
    tmp_path: Path, fakes: Fakes
) -> None:
    app = dead_letters_app(tmp_path, fakes, refuse=True)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ops.test", headers=BROWSER
        ) as console:
            await sign_in(console)
            page = await console.get("/console/exceptions")
    assert page.status_code == 200
    assert 'id="parked-ord_1"' in page.text
    assert "dead letters are not shown: The access token lacks the scope storefront:admin." in page.text


BUS_LETTER = {
    "id": "7:marketplace-acks",
    "group": "marketplace-acks",
    "message_id": "7",
    "deliveries": 5,
    "error": "KeyError: 'channel_order_id'",
    "dead_at": "2026-12-07T09:30:00Z",
    "event": {"type": "com.interchange.order.accepted.v1", "id": "evt-1", "subject": "order/ord_1"},
}


async def test_the_event_bus_dead_letters_are_listed_and_a_replay_with_a_reason_hands_one_back(
    tmp_path: Path, fakes: Fakes
) -> None:
    parked = [dict(BUS_LETTER)]

    def handle(request: httpx.Request) -> httpx.Response:
        if not request.url.path.startswith("/v1/admin/events/"):
            return fakes.handle(request)
        fakes.seen.append(request)
        if request.url.path.endswith("/dead-letters"):
            return httpx.Response(200, json={"items": parked})
        if json.loads(request.content)["dead_letter_id"] != BUS_LETTER["id"]:
            return httpx.Response(404, json={"detail": "There is no dead letter 'nope'."})
        parked.clear()
        return httpx.Response(200, json=BUS_LETTER | {"deliveries": 0})

    settings = OpsSettings.load(
        "ops", data_dir=tmp_path, log_json=False, gateway_url="http://gateway.test", orders_url="http://orders.test"
    )
    app = create_app(settings, transport=httpx.MockTransport(handle), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ops.test", headers=BROWSER
        ) as console:
            await sign_in(console)
            page = await console.get("/console/exceptions")
            section = page.text.split('<section id="bus-letters">')[1].split("</section>")[0]
            assert "com.interchange.order.accepted.v1" in section and "order/ord_1" in section
            assert "marketplace-acks" in section and "KeyError: &#39;channel_order_id&#39;" in section
            hx = {"HX-Request": "true"}
            url = "/console/bus-dead-letters/replay"
            blank = await console.post(url, data={"dead_letter_id": BUS_LETTER["id"], "reason": " "}, headers=hx)
            assert blank.status_code == 422 and "Say why the message is replayed" in blank.text
            assert not any(r.url.path.endswith("/replays") for r in fakes.seen)
            unknown = await console.post(url, data={"dead_letter_id": "nope", "reason": "retry"}, headers=hx)
            assert unknown.status_code == 404 and "nope was not replayed: There is no dead letter" in unknown.text
            done = await console.post(
                url, data={"dead_letter_id": BUS_LETTER["id"], "reason": "mapping fixed"}, headers=hx
            )
    assert done.status_code == 200
    assert done.text.lstrip().startswith('<section id="bus-letters">')
    assert "evt-1 handed back to marketplace-acks by ops-alice: mapping fixed" in done.text
    assert "No dead letters on the event bus." in done.text
    sent = [r for r in fakes.seen if r.url.path == "/v1/admin/events/replays"]
    assert [json.loads(r.content) for r in sent][-1] == {"dead_letter_id": BUS_LETTER["id"], "reason": "mapping fixed"}
    assert sent[-1].url.host == "orders.test" and sent[-1].headers["authorization"] == f"Bearer {fakes.issued[-1]}"


def test_two_reconciliations_in_one_second_stay_two_points() -> None:
    runs = {
        "runs": [
            {"checked_at": "2026-12-07T09:00:00.100Z", "channel": "b2b", "drift": 1, "repaired": False},
            {"checked_at": "2026-12-07T09:00:00.700Z", "channel": "b2b", "drift": 0, "repaired": True},
        ]
    }
    found = history_of(sync={"channels": []}, runs=runs, hours=1, now=datetime(2026, 12, 7, 10, tzinfo=UTC))
    assert found.drift.drift == [[1, 0]] and len(found.drift.times) == 2


async def test_a_reconciliation_keeps_the_window_the_operator_was_looking_at(
    console: httpx.AsyncClient, fakes: Fakes
) -> None:
    await sign_in(console)
    page = await console.post("/console/stock/reconcile", data={"hours": "24"})
    assert page.status_code == 200
    asked = [r.url.params["hours"] for r in fakes.seen if r.url.path.startswith("/v1/admin/")]
    assert asked == ["24", "24"]
    assert '<input type="hidden" name="hours" value="24">' in page.text
