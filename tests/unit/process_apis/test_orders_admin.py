"""The internal API (orders:admin): finding orders, an order's timeline, the exception queue,
audited replays, credit reviews, and the periodic pruning of idempotency keys. (The CLI over
this API: tests/unit/interchange/test_cli_orders_admin.py.)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from process_apis.orders.app import create_app
from service_kit.idempotency import IdempotencyRecord
from tests.support.tokens import static_verifier
from tests.unit.process_apis.conftest import Orders, as_service, line, order_body, orders_settings
from tests.unit.process_apis.orders_fakes import ERP, FakeTier
from tests.unit.process_apis.saga_helpers import run_until_stopped, submit


async def park_at_the_pivot(orders: Orders) -> str:
    order_id = await submit(orders)
    orders.tier.fault(ERP, "POST", "/v1/sales-order-batches", *["503"] * 6)
    await run_until_stopped(orders)
    assert await orders.status(order_id) == "on_hold"
    return order_id


async def test_only_internal_scope_reaches_the_internal_api(orders: Orders) -> None:
    for scopes in (("orders:read", "orders:write"), ("erp:read",)):
        resp = await orders.client.get("/v1/admin/exceptions", headers=as_service(*scopes, partner=None))
        assert resp.status_code == 403
        assert resp.headers["content-type"] == "application/problem+json"
    assert (await orders.admin("GET", "/exceptions")).status_code == 200


async def test_orders_are_found_by_channel_status_customer_and_date_page_by_page(orders: Orders) -> None:
    ids = [await submit(orders, order_body(f"MP-{n}")) for n in range(3)]
    b2b = await submit(orders, order_body("PO-1", channel="b2b", customer_id="C-2001", lines=[line("CABLE-USB-C")]))
    page = (await orders.admin("GET", "/orders", params={"channel": "marketplace", "limit": 2})).json()
    assert [o["id"] for o in page["items"]] == ids[:2] and page["next_offset"] == 2
    rest = (await orders.admin("GET", "/orders", params={"channel": "marketplace", "limit": 2, "offset": 2})).json()
    assert [o["id"] for o in rest["items"]] == ids[2:] and rest["next_offset"] is None
    by_customer = (await orders.admin("GET", "/orders", params={"customer_id": "C-2001"})).json()
    assert [o["id"] for o in by_customer["items"]] == [b2b]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await orders.admin("GET", "/orders", params={"created_from": tomorrow})).json()["items"] == []
    assert (
        len(
            (await orders.admin("GET", "/orders", params={"created_to": tomorrow, "status": "received"})).json()[
                "items"
            ]
        )
        == 4
    )


async def test_parked_orders_are_in_the_exception_queue_and_a_replay_is_audited(orders: Orders) -> None:
    order_id = await park_at_the_pivot(orders)
    queue = (await orders.admin("GET", "/exceptions", params={"step": "create_sales_order"})).json()["items"]
    assert [(q["order_id"], q["hold_kind"], q["failed_step"]) for q in queue] == [
        (order_id, "technical", "create_sales_order")
    ]
    assert "503" in queue[0]["last_error"]
    assert (await orders.admin("GET", "/exceptions", params={"step": "reserve_stock"})).json()["items"] == []
    assert (await orders.admin("GET", "/exceptions", params={"reason": "503"})).json()["items"] != []
    assert (await orders.admin("GET", "/exceptions", params={"older_than_minutes": 60})).json()["items"] == []
    assert (await orders.admin("GET", "/exceptions", params={"kind": "credit_review"})).json()["items"] == []

    orders.tier.faults.clear()
    replayed = await orders.admin("POST", f"/orders/{order_id}/replay", json={"note": "ERP is back"})
    assert replayed.status_code == 202, replayed.text
    audit = replayed.json()
    assert (audit["step"], audit["actor"], audit["outcome"], audit["note"]) == (
        "create_sales_order",
        "ops-console",
        "pending",
        "ERP is back",
    )
    assert await orders.status(order_id) == "received"
    await run_until_stopped(orders)
    assert await orders.status(order_id) == "released"
    assert len(orders.tier.sales_orders) == 1

    timeline = (await orders.admin("GET", f"/orders/{order_id}/timeline")).json()
    (replay,) = timeline["replays"]
    assert replay["outcome"] == "succeeded" and replay["finished_at"]
    assert [h["to_status"] for h in timeline["history"]] == ["received", "on_hold", "received", "accepted", "released"]
    assert ("create_sales_order", "parked") in [(s["step"], s["outcome"]) for s in timeline["steps"]]
    assert ("create_sales_order", "replayed") in [(s["step"], s["outcome"]) for s in timeline["steps"]]
    assert [e["type"] for e in timeline["events"]][-2:] == [
        "com.interchange.order.accepted.v1",
        "com.interchange.order.released.v1",
    ]
    # Not parked any more: a second replay is refused.
    again = await orders.admin("POST", f"/orders/{order_id}/replay", json={})
    assert again.status_code == 409
    assert (await orders.admin("GET", "/orders/ord_nope/timeline")).status_code == 404


async def test_a_replay_that_fails_again_is_audited_as_failed_and_parked_again(orders: Orders) -> None:
    order_id = await park_at_the_pivot(orders)
    orders.tier.faults.clear()
    orders.tier.fault(ERP, "POST", "/v1/sales-order-batches", *["503"] * 6)
    assert (await orders.admin("POST", f"/orders/{order_id}/replay", json={})).status_code == 202
    await run_until_stopped(orders)
    assert await orders.status(order_id) == "on_hold"
    (replay,) = (await orders.admin("GET", f"/orders/{order_id}/timeline")).json()["replays"]
    assert replay["outcome"] == "failed"


async def test_credit_review_approves_or_rejects_a_held_order(orders: Orders) -> None:
    big = [line("GADGET-PRO", "12"), line("CABLE-USB-C", "500")]
    approved = await submit(orders, order_body("PO-1", customer_id="C-2001", lines=big))
    await run_until_stopped(orders)
    assert (await orders.admin("GET", "/exceptions", params={"kind": "credit_review"})).json()["items"][0][
        "order_id"
    ] == approved
    not_credit = await orders.admin("POST", "/orders/ord_nope/credit-review", json={"decision": "approve"})
    assert not_credit.status_code == 404
    ok = await orders.admin(
        "POST", f"/orders/{approved}/credit-review", json={"decision": "approve", "note": "limit raised"}
    )
    assert ok.status_code == 202 and ok.json()["outcome"] == "succeeded"
    await run_until_stopped(orders)
    assert await orders.status(approved) == "released"

    refused = await submit(orders, order_body("PO-2", customer_id="C-2001", lines=[line("CABLE-USB-C", "100")]))
    await run_until_stopped(orders)  # the first one is open now, so this one is over the limit too
    assert await orders.status(refused) == "on_hold"
    no = await orders.admin("POST", f"/orders/{refused}/credit-review", json={"decision": "reject"})
    assert no.status_code == 202 and no.json()["outcome"] == "rejected"
    order = (await orders.get(refused, partner=None)).json()
    assert order["status"] == "rejected" and "credit refused by ops-console" in order["status_reason"]
    assert orders.tier.active_reservations() == [
        r for r in orders.tier.reservations.values() if r["reference"] == approved
    ]


async def test_idempotency_keys_older_than_a_day_are_pruned_by_the_running_service(
    tmp_path: Path, tier: FakeTier
) -> None:
    app = create_app(orders_settings(tmp_path), transport=tier.transport(), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        db = app.state.db
        old = datetime.now(UTC) - timedelta(hours=25)
        async with db.transaction() as session:
            for key, at in (("old", old), ("fresh", datetime.now(UTC))):
                session.add(
                    IdempotencyRecord(
                        scope="svc",
                        key=key,
                        fingerprint="f",
                        state="done",
                        locked_until=at,
                        status_code=202,
                        response_body="{}",
                        created_at=at,
                    )
                )
    # The pruner runs at start-up, then every idempotency_prune_interval, once per interval across
    # replicas and restarts: the first start pruned this hour's, so the restart prunes every 50 ms.
    again = create_app(
        orders_settings(tmp_path, idempotency_prune_interval=0.05),
        transport=tier.transport(),
        verifier=static_verifier(),
    )
    async with again.router.lifespan_context(again):
        for _ in range(200):  # bounded wait for the background pruner's first run
            async with again.state.db.transaction() as session:
                keys = {r.key for r in (await session.execute(IdempotencyRecord.__table__.select())).all()}
            if "old" not in keys:
                break
            await asyncio.sleep(0.01)
    assert keys == {"fresh"}
    assert isinstance(again.state.db, object) and httpx  # the app ran with its pruner


async def test_filters_out_of_range_are_refused_or_clamped_never_a_500(orders: Orders) -> None:
    assert (await orders.admin("GET", "/orders", params={"created_to": "0.5"})).status_code == 422
    assert (await orders.admin("GET", "/orders", params={"created_to": "yesterday"})).status_code == 422
    assert (await orders.admin("GET", "/orders", params={"created_from": "2026-01-01"})).status_code == 200
    huge = {"offset": 10**22, "older_than_minutes": 1e308}
    assert (await orders.admin("GET", "/exceptions", params=huge)).json() == {"items": [], "next_offset": None}
    assert (await orders.admin("GET", "/orders", params={"offset": 10**22})).json()["items"] == []
