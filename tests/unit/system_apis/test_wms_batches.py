"""The WMS's batch operations: many reservations, or many pick releases, in one call, each entry
once per reference (or reservation) and on its own, answered as the single operation would."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from system_apis.wms.models import WmsAllocation
from tests.support.tokens import Bearer
from tests.unit.system_apis.test_wms import READ, WRITE, reservation, stock

INSUFFICIENT = "urn:interchange:problem:insufficient-stock"


@pytest.fixture
def service() -> str:
    return "wms"


async def reserve_batch(wms: httpx.AsyncClient, *entries: dict[str, Any]) -> list[dict[str, Any]]:
    resp = await wms.post("/v1/reservation-batches", json={"entries": list(entries)}, headers=WRITE)
    assert resp.status_code == 200, resp.text
    results: list[dict[str, Any]] = resp.json()["results"]
    return results


async def pick_batch(wms: httpx.AsyncClient, *ids: str) -> list[dict[str, Any]]:
    body = {"entries": [{"reservation_id": i} for i in ids]}
    resp = await wms.post("/v1/pick-release-batches", json=body, headers=WRITE)
    assert resp.status_code == 200, resp.text
    results: list[dict[str, Any]] = resp.json()["results"]
    return results


async def allocations(app: Any) -> int:
    async with app.state.db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(WmsAllocation))).scalar_one())


async def test_a_batch_reserves_each_entry_and_a_short_one_fails_only_itself(wms: httpx.AsyncClient, app: Any) -> None:
    results = await reserve_batch(
        wms,
        reservation("ord_1", WIDGET_BLUE=3),
        reservation("ord_2", WIDGET_BLUE=1, WIDGET_RED=6),  # 5 red in AMS: short
        reservation("ord_3", WIDGET_RED=2),
    )
    assert [(r["reference"], r["outcome"]) for r in results] == [
        ("ord_1", "created"),
        ("ord_2", "refused"),
        ("ord_3", "created"),
    ]
    problem = results[1]["problem"]
    assert (problem["type"], problem["status"]) == (INSUFFICIENT, 422)
    assert [(e["sku"], e["pointer"]) for e in problem["errors"]] == [("WIDGET-RED", "#/lines/1/quantity")]
    assert results[1]["reservation"] is None
    assert results[0]["reservation"]["status"] == "active" and results[0]["reservation"]["warehouse"] == "AMS"
    positions = await stock(wms, "WIDGET-BLUE", "WIDGET-RED")
    assert positions[("WIDGET-BLUE", "AMS")] == ("100", "3", "97")  # ord_2's blue line took nothing
    assert positions[("WIDGET-RED", "AMS")] == ("5", "2", "3")
    assert await allocations(app) == 2


async def test_a_batch_sent_again_answers_the_reservations_made_and_reserves_nothing_twice(
    wms: httpx.AsyncClient, app: Any
) -> None:
    entries = [reservation("ord_4", WIDGET_BLUE=2), reservation("ord_5", CABLE_USB_C=1)]
    first = await reserve_batch(wms, *entries)
    again = await reserve_batch(wms, *entries, reservation("ord_4", WIDGET_BLUE=2))  # and a repeat inside it
    assert [r["outcome"] for r in first] == ["created", "created"]
    assert [r["outcome"] for r in again] == ["existing", "existing", "existing"]
    assert [r["reservation"] for r in again] == [
        first[0]["reservation"],
        first[1]["reservation"],
        first[0]["reservation"],
    ]
    assert (await stock(wms, "WIDGET-BLUE"))[("WIDGET-BLUE", "AMS")] == ("100", "2", "98")
    assert await allocations(app) == 2


async def test_an_entry_for_a_sku_the_wms_does_not_stock_is_refused_alone(wms: httpx.AsyncClient) -> None:
    results = await reserve_batch(wms, reservation("ord_6", NO_SUCH_SKU=1), reservation("ord_7", WIDGET_BLUE=1))
    assert [r["outcome"] for r in results] == ["refused", "created"]
    assert results[0]["problem"]["type"] == INSUFFICIENT
    assert [e["sku"] for e in results[0]["problem"]["errors"]] == ["NO-SUCH-SKU"]


async def test_pick_release_batch_moves_each_reservation_once_and_refuses_only_the_bad_ones(
    wms: httpx.AsyncClient,
) -> None:
    made = await reserve_batch(wms, reservation("ord_8", WIDGET_BLUE=1), reservation("ord_9", WIDGET_BLUE=1))
    first_id, second_id = (r["reservation"]["id"] for r in made)
    released = await wms.post(f"/v1/reservations/{second_id}/release", headers=WRITE)
    assert released.json()["status"] == "released"

    results = await pick_batch(wms, first_id, second_id, "RSV-999999")
    assert [(r["reservation_id"], r["outcome"]) for r in results] == [
        (first_id, "released"),
        (second_id, "refused"),
        ("RSV-999999", "refused"),
    ]
    assert results[0]["reservation"]["status"] == "picking"
    assert results[1]["problem"]["status"] == 422 and "nothing to pick" in results[1]["problem"]["detail"]
    assert results[2]["problem"]["status"] == 404
    again = await pick_batch(wms, first_id)
    assert [(r["outcome"], r["reservation"]["status"]) for r in again] == [("unchanged", "picking")]
    single = await wms.get(f"/v1/reservations/{first_id}", headers=READ)
    assert single.json()["status"] == "picking"


async def test_a_malformed_batch_is_refused_whole_with_a_problem(wms: httpx.AsyncClient) -> None:
    empty = await wms.post("/v1/reservation-batches", json={"entries": []}, headers=WRITE)
    too_many = await wms.post(
        "/v1/pick-release-batches",
        json={"entries": [{"reservation_id": f"RSV-{n:06d}"} for n in range(101)]},
        headers=WRITE,
    )
    for resp in (empty, too_many):
        assert resp.status_code == 422
        assert resp.headers["content-type"].startswith("application/problem+json")


async def test_batches_need_the_write_scope(wms: httpx.AsyncClient) -> None:
    body = {"entries": [reservation("ord_10", WIDGET_BLUE=1)]}
    assert (await wms.post("/v1/reservation-batches", json=body, headers=READ)).status_code == 403
    pick = {"entries": [{"reservation_id": "RSV-000001"}]}
    assert (await wms.post("/v1/pick-release-batches", json=pick, headers=Bearer("wms:read"))).status_code == 403
