"""The WMS steps in batches: orders due for their reservation (or pick release) at the same time
go to the WMS in one call, and an entry the WMS refuses fails only its own order, with the WMS's
reason; an entry sent again after a lost answer gets the reservation made the first time."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from contracts import Quantity, ReservationCreate, ReservationLineCreate
from process_apis.orders.app import create_app
from process_apis.orders.clients import InsufficientStock, Refused, WmsClient
from process_apis.orders.flows.wms_batches import PickReleaseBatcher, ReservationBatcher
from service_kit.app import upstream
from service_kit.http import ServiceToken, Upstream
from tests.support.tokens import static_verifier
from tests.unit.process_apis.conftest import Orders, line, order_body, orders_settings
from tests.unit.process_apis.orders_fakes import WMS, FakeTier
from tests.unit.process_apis.saga_helpers import order_row, run_until_stopped, submit


def reservation(reference: str, sku: str = "WIDGET-BLUE", quantity: int = 1) -> ReservationCreate:
    return ReservationCreate(
        reference=reference, lines=[ReservationLineCreate(sku=sku, quantity=Quantity.of(quantity))]
    )


def batchers(orders: Orders) -> tuple[ReservationBatcher, PickReleaseBatcher]:
    def wms(correlation_id: str) -> WmsClient:
        return WmsClient(upstream(orders.app, "wms"), correlation_id=correlation_id)

    return ReservationBatcher(wms), PickReleaseBatcher(wms)


async def test_reservations_due_together_go_in_one_call_each_with_its_own_answer(orders: Orders) -> None:
    reservations, pick_releases = batchers(orders)
    answers = await asyncio.gather(
        reservations.reserve(reservation("ord_a")),
        reservations.reserve(reservation("ord_b", "WIDGET-RED", 6)),  # 5 in AMS, none in RTM
        reservations.reserve(reservation("ord_c")),
        return_exceptions=True,
    )
    assert len(orders.tier.seen("POST", WMS, "/v1/reservation-batches")) == 1
    assert (reservations.calls, reservations.entries) == (1, 3)
    assert isinstance(answers[1], InsufficientStock) and answers[1].skus == ["WIDGET-RED"]
    made = [a for a in answers if not isinstance(a, BaseException)]
    assert [r.reference for r in made] == ["ord_a", "ord_c"]

    again = await reservations.reserve(reservation("ord_a"))  # sent again (a lost answer): the same one
    assert again.id == made[0].id and len(orders.tier.reservations) == 2

    released = await asyncio.gather(
        *(pick_releases.release_for_picking(r.id) for r in made),
        pick_releases.release_for_picking("res_404"),
        return_exceptions=True,
    )
    assert len(orders.tier.seen("POST", WMS, "/v1/pick-release-batches")) == 1
    assert [getattr(r, "status", None) for r in released[:2]] == ["picking", "picking"]
    assert isinstance(released[2], Refused)


async def test_a_batch_the_wms_cannot_read_is_sent_again_entry_by_entry(tier: FakeTier) -> None:
    def strict(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/reservation-batches") and b"ord_bad" in request.content:
            tier.requests.append(request)
            return httpx.Response(422, json={"type": "urn:interchange:problem:validation", "detail": "unreadable"})
        return tier.handle(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(strict)) as http:
        token = ServiceToken(http, token_url="http://gw.test/token", client_id="", client_secret="")
        wms = WmsClient(Upstream(http, token, base_url="http://wms.test", name="wms"))
        answers = await wms.reserve_many([reservation("ord_ok"), reservation("ord_bad")])
    assert isinstance(answers["ord_bad"], Refused) and answers["ord_bad"].detail == "unreadable"
    assert getattr(answers["ord_ok"], "reference", None) == "ord_ok"
    assert len(tier.seen("POST", WMS, "/v1/reservation-batches")) == 3  # the batch, then each entry
    assert [r["reference"] for r in tier.reservations.values()] == ["ord_ok"]


async def test_a_partly_refused_reservation_batch_rejects_only_the_short_order_with_the_wms_reason(
    tmp_path: Path, tier: FakeTier
) -> None:
    tier.stock[("WIDGET-RED", "AMS")] = 2
    app = create_app(
        orders_settings(tmp_path, worker_concurrency=4), transport=tier.transport(), verifier=static_verifier()
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orders.test") as client:
            orders = Orders(app=app, client=client, tier=tier)
            wanted = ["1", "1", "5", "0"]  # the third cannot be covered; the fourth is a cable order
            bodies = [
                order_body(f"MP-{n}", lines=[line("WIDGET-RED", q) if q != "0" else line("CABLE-USB-C")])
                for n, q in enumerate(wanted)
            ]
            ids = [await submit(orders, body) for body in bodies]
            await run_until_stopped(orders)
            rows: list[Any] = [await order_row(orders, order_id) for order_id in ids]
    assert [r.status for r in rows] == ["released", "released", "rejected", "released"]
    assert "WIDGET-RED" in (rows[2].rejection_reason or "")
    assert sorted(r["reference"] for r in tier.reservations.values()) == sorted(ids[:2] + ids[3:])
    assert sorted(tier.sales_orders) == sorted(ids[:2] + ids[3:])
    assert 1 <= len(tier.seen("POST", WMS, "/v1/reservation-batches")) < len(ids)  # some went together
