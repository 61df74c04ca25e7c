"""How many SQL statements the WMS's hot requests run, and that they run as one unit of work:
statements built per call through the ORM, each a hand-off to the database thread and back, were
most of the WMS's CPU per order (a reservation ran 15, a pick release 7, a receipt of ten lines
34). Counted, not timed: the count is the same on any machine."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest

from system_apis.wms.backend.statements import JOURNAL_BY_REF
from tests.support.tokens import Bearer
from tests.unit.system_apis.sql_recorder import recorded

WRITE = Bearer("wms:read wms:write")


@pytest.fixture
def service() -> str:
    return "wms"


def wms_statements(app: Any) -> AbstractContextManager[list[str]]:
    """The statements the requests run while the block runs: on the WMS's tables, and the outbox
    rows they add (the workers' own statements, which run beside the requests whenever they are
    woken, are left out: the outbox relay's, the revocation list's)."""
    return recorded(
        app.state.wms_units.engine,
        keep=lambda statement: "wms_" in statement or statement.startswith("INSERT INTO event_outbox"),
    )


def line(sku: str, value: int) -> dict[str, Any]:
    return {"sku": sku, "quantity": {"value": str(value), "unit": "EA"}}


async def test_a_reservation_and_its_pick_release_run_nine_statements(app: Any, wms: httpx.AsyncClient) -> None:
    await wms.post("/v1/reservations", json={"reference": "warm", "lines": [line("WIDGET-RED", 1)]}, headers=WRITE)
    with wms_statements(app) as reserving:
        created = await wms.post(
            "/v1/reservations", json={"reference": "ord_1", "lines": [line("CABLE-USB-C", 1)]}, headers=WRITE
        )
    assert created.status_code == 201, created.text
    # an open reservation? / warehouses and stock / take / allocation / its lines / journal / outbox
    assert len(reserving) == 7, reserving
    with wms_statements(app) as releasing:
        moved = await wms.post(f"/v1/reservations/{created.json()['id']}/pick-release", headers=WRITE)
    assert moved.json()["status"] == "picking"
    assert len(releasing) == 2, releasing  # the reservation as it is / the conditional status change


async def test_a_receipt_of_ten_lines_runs_six_statements_whatever_its_size(app: Any, wms: httpx.AsyncClient) -> None:
    lines = [line(f"NEW-{n}", 1) for n in range(10)]
    with wms_statements(app) as first:  # every SKU new here
        resp = await wms.post(
            "/v1/receipts", json={"reference": "ASN-1", "warehouse": "AMS", "lines": lines}, headers=WRITE
        )
    assert resp.status_code == 201, resp.text
    with wms_statements(app) as again:  # every SKU known now
        resp = await wms.post(
            "/v1/receipts", json={"reference": "ASN-2", "warehouse": "AMS", "lines": lines}, headers=WRITE
        )
    assert resp.status_code == 201, resp.text
    # the warehouse / booked before? / balances / journal / outbox
    assert len(first) == len(again) == 5, again


async def test_a_reference_is_looked_up_by_its_index_not_by_scanning_the_journal(app: Any) -> None:
    compiled = JOURNAL_BY_REF.compile(dialect=app.state.wms_units.engine.dialect)
    params = compiled.construct_params({"kind": "receipt", "ref": "ASN-1"})
    with app.state.wms_units.engine.connect() as conn:
        plan = conn.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled.string}", tuple(params[name] for name in compiled.positiontup or ())
        ).all()
    steps = [str(step[-1]) for step in plan]
    assert any("wms_stock_movements USING INDEX uq_wms_movements_ref" in step for step in steps), steps
