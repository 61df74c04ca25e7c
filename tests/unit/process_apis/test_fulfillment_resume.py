"""Durability of the fulfilment sagas: a worker killed between the ERP's answer and its record
resumes with no second invoice; the injection point (``INTERCHANGE_FULFILLMENT_INJECTION_POINT``,
the kit's mechanism orders uses) stops the process exactly there; the WMS's own shipments for an
unknown or cancelled order, and steps whose retries ran out, wait in the exception queue until a
replay, which is audited."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from contracts.events.fulfillment import FulfillmentLine, ReturnedLine, WarehouseReturnReceivedV1, WarehouseShippedV1
from process_apis.fulfillment import steps
from process_apis.fulfillment.app import create_app
from process_apis.fulfillment.models import FulfillmentReplay, ShipmentRow
from process_apis.fulfillment.worker import (
    on_return_received,
    on_warehouse_shipped,
    process_pending,
    release_own_claims,
)
from service_kit.events.envelopes import new_event
from service_kit.saga import injection
from tests.support.tokens import static_verifier
from tests.unit.process_apis.fulfillment_fakes import FakeBelow, order
from tests.unit.process_apis.fulfillment_support import (  # noqa: F401
    Fulfillment,
    asn,
    fulfillment_fixture,
    settings_for,
)


class SimulatedCrash(BaseException):
    """The process dies (a SIGKILL): a BaseException, so nothing in the saga catches it."""


async def _shipment(fulfillment: Fulfillment, shipment_id: str) -> ShipmentRow:
    async with fulfillment.app.state.db.transaction() as session:
        row = await session.get(ShipmentRow, shipment_id)
        assert row is not None
        return row


async def test_a_worker_killed_after_the_erp_invoiced_resumes_with_no_second_invoice(fulfillment: Fulfillment) -> None:
    await fulfillment.release("ord_1")
    rid = (await fulfillment.requests())[0]["request_id"]
    crashed: list[int] = []

    def die_once() -> None:
        if not crashed:
            crashed.append(len(fulfillment.below.invoices))
            raise SimulatedCrash

    sagas = fulfillment.app.state.fulfillment_sagas
    sagas[1] = steps.shipment_saga(invoice_answered=die_once)
    await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "3")))
    with pytest.raises(SimulatedCrash):
        await process_pending(fulfillment.app)
    assert crashed == [1]  # the ERP had invoiced it
    before = await _shipment(fulfillment, "ASN-1")
    assert (before.saga_step, before.invoice_number, before.claimed_by is not None) == ("invoice", None, True)

    fulfillment.app.state.fulfillment_in_flight.clear()  # a new process
    await release_own_claims(fulfillment.app)  # its start-up: its claims are due at once
    await fulfillment.run()

    invoice_calls = [c for c in fulfillment.below.calls if c == ("POST", "erp.test/v1/invoices")]
    assert len(invoice_calls) == 2 and len(fulfillment.below.invoices) == 1  # asked twice, invoiced once
    after = await _shipment(fulfillment, "ASN-1")
    assert (after.status, after.invoice_number) == ("notified", "INV-000001")
    assert [e["invoice_number"] for e in await fulfillment.events("shipment.confirmed")] == ["INV-000001"]


async def test_the_injection_point_setting_stops_the_process_once_the_erp_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signals: list[tuple[int, int]] = []
    below = FakeBelow()
    monkeypatch.setattr(injection.os, "kill", lambda pid, sig: signals.append((sig, len(below.invoices))))
    settings = settings_for(tmp_path, injection_point="invoice_answered")
    app = create_app(settings, transport=below.transport(), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://f.test") as client:
            fulfillment = Fulfillment(app=app, client=client, below=below)
            await fulfillment.release("ord_1")
            rid = (await fulfillment.requests())[0]["request_id"]
            await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "1")))
            await fulfillment.ship(asn(rid, "ASN-2", (1, "WIDGET-BLUE", "1")))
            await fulfillment.run()
    assert len(signals) == 1 and signals[0][0] == signal.SIGSTOP  # the first time only
    assert signals[0][1] >= 1  # after the ERP's invoice


def _wms_shipped(shipment_id: str, order_id: str) -> Any:
    return new_event(
        data=WarehouseShippedV1(
            shipment_id=shipment_id,
            reference=order_id,
            warehouse="AMS",
            carrier="PostNL",
            tracking_number="3S-1",
            lines=[FulfillmentLine(sku="CABLE-USB-C", quantity="1")],
            shipped_at="2026-12-07T12:00:00Z",  # type: ignore[arg-type]
        ),
        source="urn:interchange:system:wms",
        subject=f"shipment/{shipment_id}",
    )


async def _consume(fulfillment: Fulfillment, event: Any) -> None:
    async with fulfillment.app.state.db.transaction() as session:
        await on_warehouse_shipped(session=session, event=event)
    await fulfillment.run()


async def _admin(fulfillment: Fulfillment, method: str, path: str, **kwargs: Any) -> httpx.Response:
    if method == "GET":
        return await fulfillment.get(f"/v1/admin{path}", scope="fulfillment:admin")
    return await fulfillment.post(f"/v1/admin{path}", kwargs.get("json", {}), scope="fulfillment:admin")


async def test_the_wms_shipping_an_unknown_order_parks_it_until_a_replay(fulfillment: Fulfillment) -> None:
    await _consume(fulfillment, _wms_shipped("WMS-1", "ord_9"))
    queue = (await _admin(fulfillment, "GET", "/exceptions")).json()["items"]
    assert [(q["id"], q["failed_step"]) for q in queue] == [("shipment:WMS-1", "check_order")]
    assert "unknown order ord_9" in queue[0]["reason"]
    assert (await _shipment(fulfillment, "WMS-1")).status == "held"
    assert not fulfillment.below.invoices

    fulfillment.below.orders["ord_9"] = order("ord_9")  # the order turns up
    replayed = await _admin(
        fulfillment, "POST", "/exceptions/shipment:WMS-1/replay", json={"note": "order is there now"}
    )
    assert replayed.status_code == 202, replayed.text
    await fulfillment.run()
    row = await _shipment(fulfillment, "WMS-1")
    assert (row.status, row.invoice_number, row.lines[0]["line_no"]) == ("notified", "INV-000001", 2)
    assert "wms.test" not in {c[1].split("/")[0] for c in fulfillment.below.calls}  # the WMS had done its part
    async with fulfillment.app.state.db.transaction() as session:
        [audit] = list(await session.scalars(select(FulfillmentReplay)))
    assert (audit.subject_id, audit.step, audit.outcome, audit.note) == (
        "WMS-1",
        "check_order",
        "succeeded",
        "order is there now",
    )
    assert (await _admin(fulfillment, "GET", "/exceptions")).json()["items"] == []
    again = await _admin(fulfillment, "POST", "/exceptions/shipment:WMS-1/replay", json={})
    assert again.status_code == 409


async def test_a_shipment_for_a_cancelled_order_is_parked_with_its_reason(fulfillment: Fulfillment) -> None:
    fulfillment.below.orders["ord_c"] = order("ord_c", status="cancelled")
    await _consume(fulfillment, _wms_shipped("WMS-2", "ord_c"))
    [item] = (await _admin(fulfillment, "GET", "/exceptions")).json()["items"]
    assert item["id"] == "shipment:WMS-2" and "order ord_c is cancelled" in item["reason"]
    assert not fulfillment.below.invoices


async def test_an_erp_that_stays_down_parks_the_shipment_after_its_retries_and_a_replay_invoices_it(
    fulfillment: Fulfillment,
) -> None:
    fulfillment.below.orders["ord_1"] = order("ord_1")
    fulfillment.below.down.add(("erp.test", "/v1/invoices"))
    await _consume(fulfillment, _wms_shipped("WMS-3", "ord_1"))
    row = await _shipment(fulfillment, "WMS-3")
    assert (row.status, row.failed_step, row.attempts) == ("held", "invoice", 3)
    assert "invoice failed 3 times" in (row.status_reason or "")
    fulfillment.below.down.clear()
    assert (await _admin(fulfillment, "POST", "/exceptions/shipment:WMS-3/replay", json={})).status_code == 202
    await fulfillment.run()
    assert (await _shipment(fulfillment, "WMS-3")).status == "notified"
    assert len(fulfillment.below.invoices) == 1


async def test_the_wms_receiving_a_return_of_an_own_warehouse_line_credits_it(fulfillment: Fulfillment) -> None:
    """The WMS's events carry no order line (line_no null): the receipt's lines are the return's
    lines of those SKUs, not line 1 (CABLE-USB-C is line 2 of ord_1; line 1 was parked as unknown)."""
    await fulfillment.release("ord_1")
    await _consume(fulfillment, _wms_shipped("WMS-1", "ord_1"))
    line = {"line_no": 2, "sku": "CABLE-USB-C", "quantity": {"value": "1", "unit": "EA"}, "reason": "broken"}
    authorised = await fulfillment.post(
        "/v1/returns", {"return_id": "RMA-1", "order_id": "ord_1", "lines": [line]}, partner="acme-market"
    )
    assert authorised.status_code == 201, authorised.text
    event = new_event(
        data=WarehouseReturnReceivedV1(
            return_id="RMA-1",
            reference="ord_1",
            warehouse="AMS",
            lines=[ReturnedLine(sku="CABLE-USB-C", quantity="1", condition="sellable")],
            received_at="2026-12-07T15:00:00Z",
        ),
        source="urn:interchange:system:wms",
        subject="return/RMA-1",
    )
    async with fulfillment.app.state.db.transaction() as session:
        await on_return_received(session=session, event=event)
    await fulfillment.run()
    got = (await fulfillment.get("/v1/returns/RMA-1")).json()
    assert (got["status"], got["status_reason"]) == ("credited", None), got
    assert got["received_lines"][0]["line_no"] == 2
    assert list(fulfillment.below.credit_memos) == ["RMA-1"]
