"""Bad input to the fulfilment API: each a clear problem+json, and nothing written (no shipment,
no return, the request's shipped quantities unchanged, no call below)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from contracts.fulfillment import ReturnCreate
from process_apis.fulfillment import repository, returns, service
from process_apis.fulfillment.models import ReturnRow, ShipmentRow
from process_apis.fulfillment.schemas import ShipmentSubmit
from service_kit.errors import UnprocessableContent
from tests.unit.process_apis.fulfillment_support import (  # noqa: F401
    PARTNER,
    Fulfillment,
    asn,
    fulfillment_fixture,
)


async def _count(fulfillment: Fulfillment, model: Any) -> int:
    async with fulfillment.app.state.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _request_id(fulfillment: Fulfillment) -> str:
    await fulfillment.release("ord_1")
    return str((await fulfillment.requests())[0]["request_id"])


@pytest.mark.parametrize(
    ("lines", "said"),
    [
        ([(1, "WIDGET-BLUE", "4")], "line 1: 4 is above what is left (3"),
        ([(2, "CABLE-USB-C", "1")], "line 2 (CABLE-USB-C) is not on the request"),  # the own warehouse's line
        ([(7, "WIDGET-BLUE", "1")], "line 7 (WIDGET-BLUE) is not on the request"),
        ([(1, "GADGET-PRO", "1")], "line 1 (GADGET-PRO) is not on the request"),
        ([(1, "WIDGET-BLUE", "1"), (1, "WIDGET-BLUE", "1")], "line 1 is listed more than once"),
    ],
)
async def test_lines_not_on_the_request_or_above_what_is_left_are_refused_and_nothing_is_written(
    fulfillment: Fulfillment, lines: list[tuple[int, str, str]], said: str
) -> None:
    rid = await _request_id(fulfillment)
    resp = await fulfillment.ship(asn(rid, "ASN-X", *lines))
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert any(said in error["msg"] for error in resp.json()["errors"]), resp.json()
    assert await _count(fulfillment, ShipmentRow) == 0
    assert (await fulfillment.requests())[0]["status"] == "open"
    assert not fulfillment.below.wms_shipments and not fulfillment.below.invoices


async def test_a_quantity_above_what_is_left_after_a_partial_shipment_is_refused(fulfillment: Fulfillment) -> None:
    rid = await _request_id(fulfillment)
    assert (await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "2")))).status_code == 202
    resp = await fulfillment.ship(asn(rid, "ASN-2", (1, "WIDGET-BLUE", "2")))
    assert resp.status_code == 422
    assert "above what is left (1" in resp.json()["errors"][0]["msg"]
    assert await _count(fulfillment, ShipmentRow) == 1


async def test_another_partners_request_is_not_found_and_nothing_is_written(fulfillment: Fulfillment) -> None:
    rid = await _request_id(fulfillment)
    resp = await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "1")), partner="other-3pl")
    assert resp.status_code == 404
    assert resp.json()["detail"] == f"No fulfilment request {rid}."
    assert await _count(fulfillment, ShipmentRow) == 0


async def test_a_partners_shipment_must_name_its_request(fulfillment: Fulfillment) -> None:
    body = asn("x", "ASN-1", (1, "WIDGET-BLUE", "1"))
    del body["request_id"]
    resp = await fulfillment.ship(body)
    assert resp.status_code == 422 and resp.json()["errors"][0]["loc"] == ["body", "request_id"]


async def test_a_shipment_id_used_with_other_content_is_a_conflict(fulfillment: Fulfillment) -> None:
    rid = await _request_id(fulfillment)
    assert (await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "1")))).status_code == 202
    resp = await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "2")))
    assert resp.status_code == 409 and "other content" in resp.json()["detail"]


async def test_a_return_for_goods_never_shipped_or_above_what_shipped_is_refused(fulfillment: Fulfillment) -> None:
    rid = await _request_id(fulfillment)

    def rma(return_id: str, quantity: str, line_no: int = 1, sku: str = "WIDGET-BLUE") -> dict[str, Any]:
        line = {"line_no": line_no, "sku": sku, "quantity": {"value": quantity, "unit": "EA"}, "reason": "broken"}
        return {"return_id": return_id, "order_id": "ord_1", "lines": [line]}

    never = await fulfillment.post("/v1/returns", rma("RMA-1", "1"), partner="acme-market")
    assert never.status_code == 422 and "Nothing of order ord_1 has shipped" in never.json()["detail"]
    await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "1")))
    above = await fulfillment.post("/v1/returns", rma("RMA-1", "2"), partner="acme-market")
    assert above.status_code == 422 and "above what is left (1" in above.json()["errors"][0]["msg"]
    unshipped_line = await fulfillment.post("/v1/returns", rma("RMA-1", "1", 2, "CABLE-USB-C"), partner="acme-market")
    assert unshipped_line.status_code == 422
    others = await fulfillment.post("/v1/returns", rma("RMA-1", "1"), partner="zenith-market")
    assert others.status_code == 404
    assert await _count(fulfillment, ReturnRow) == 0
    ok = await fulfillment.post("/v1/returns", rma("RMA-1", "1"), partner="acme-market")
    assert ok.status_code == 201
    twice = await fulfillment.post("/v1/returns", rma("RMA-2", "1"), partner="acme-market")
    assert twice.status_code == 422 and "above what is left (0" in twice.json()["errors"][0]["msg"]


async def test_two_shipments_of_one_request_at_once_never_ship_more_than_was_requested(
    fulfillment: Fulfillment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two ASNs of 2 (of 3 requested) in two transactions, the first held after it has read what is
    left until the second has read it too (or waits for the request's lock): one of them is refused."""
    rid = await _request_id(fulfillment)
    second_in = asyncio.Event()
    calls = locks = 0
    read, lock = repository.shipped_by_line, getattr(repository, "lock_request", None)

    async def reading(session: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            await second_in.wait()
        else:
            second_in.set()
        return await read(session, **kwargs)

    async def locking(session: Any, **kwargs: Any) -> Any:
        nonlocal locks
        locks += 1
        if locks == 2:  # the second waits for the first's lock: let the first go on
            second_in.set()
        assert lock is not None
        return await lock(session, **kwargs)

    monkeypatch.setattr(repository, "shipped_by_line", reading)
    monkeypatch.setattr(repository, "lock_request", locking, raising=False)

    async def submit(shipment_id: str) -> str:
        body = ShipmentSubmit.model_validate(asn(rid, shipment_id, (1, "WIDGET-BLUE", "2")))
        try:
            async with fulfillment.app.state.db.transaction() as session:
                await service.submit_shipment(session=session, body=body, partner_id=PARTNER, base_url="/")
        except UnprocessableContent as refusal:
            return refusal.detail
        return "recorded"

    answers = await asyncio.gather(submit("ASN-1"), submit("ASN-2"))
    assert sorted(answers) == ["Nothing was recorded: 1 line(s) of this request cannot be taken.", "recorded"]
    assert await _count(fulfillment, ShipmentRow) == 1
    assert (await fulfillment.requests())[0]["lines"][0]["shipped_quantity"]["value"] == "2"


async def test_two_returns_of_one_order_at_once_never_return_more_than_shipped(
    fulfillment: Fulfillment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two returns of the one unit shipped, in two transactions, the first held after it has read
    what was returned until the second has read it too (or waits for the lock): one is refused."""
    rid = await _request_id(fulfillment)
    assert (await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "1")))).status_code == 202
    second_in = asyncio.Event()
    calls = locks = 0
    read, lock = repository.returns_of, getattr(repository, "lock_order_shipments", None)

    async def reading(session: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            await second_in.wait()
        else:
            second_in.set()
        return await read(session, **kwargs)

    async def locking(session: Any, **kwargs: Any) -> Any:
        nonlocal locks
        locks += 1
        if locks == 2:
            second_in.set()
        assert lock is not None
        return await lock(session, **kwargs)

    monkeypatch.setattr(repository, "returns_of", reading)
    monkeypatch.setattr(repository, "lock_order_shipments", locking, raising=False)

    async def authorise(return_id: str) -> str:
        line = {"line_no": 1, "sku": "WIDGET-BLUE", "quantity": {"value": "1", "unit": "EA"}, "reason": "broken"}
        body = ReturnCreate.model_validate({"return_id": return_id, "order_id": "ord_1", "lines": [line]})
        try:
            async with fulfillment.app.state.db.transaction() as session:
                await returns.create_return(session=session, body=body, partner_id="acme-market")
        except UnprocessableContent as refusal:
            return refusal.detail
        return "authorised"

    answers = await asyncio.gather(authorise("RMA-1"), authorise("RMA-2"))
    assert sorted(answers) == ["Nothing was recorded: 1 line(s) of this shipped goods cannot be taken.", "authorised"]
    assert await _count(fulfillment, ReturnRow) == 1


async def test_a_return_id_sent_again_with_other_lines_is_a_conflict_not_the_first_return(
    fulfillment: Fulfillment,
) -> None:
    """The same return id with other lines must not answer 201 with the first return as if taken."""
    rid = await _request_id(fulfillment)
    assert (await fulfillment.ship(asn(rid, "ASN-1", (1, "WIDGET-BLUE", "3")))).status_code == 202

    def rma(quantity: str) -> dict[str, Any]:
        line = {"line_no": 1, "sku": "WIDGET-BLUE", "quantity": {"value": quantity, "unit": "EA"}, "reason": "broken"}
        return {"return_id": "RMA-1", "order_id": "ord_1", "lines": [line]}

    assert (await fulfillment.post("/v1/returns", rma("1"), partner="acme-market")).status_code == 201
    again = await fulfillment.post("/v1/returns", rma("1"), partner="acme-market")
    assert again.status_code == 201 and again.json()["lines"][0]["quantity"]["value"] == "1"
    other = await fulfillment.post("/v1/returns", rma("2"), partner="acme-market")
    assert other.status_code == 409, other.text
    assert other.headers["content-type"].startswith("application/problem+json")
    assert "other content" in other.json()["detail"]
