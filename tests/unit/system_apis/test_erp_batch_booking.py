"""How the reference ERP books a batch: with the same few statements whatever its size (read once,
book together), the ERP numbering every order, a reference repeated in one batch booked once,
and a reference booked meanwhile by another request answered as a conflict entry."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

from system_apis.erp.backend.reference_batches import ReferenceSalesOrderBatches
from tests.support.tokens import bearer
from tests.unit.system_apis.sql_recorder import recorded
from tests.unit.system_apis.test_erp_batch import booked, entry


def statements(app: Any) -> AbstractContextManager[list[str]]:
    """The SQL statements on the ERP's own tables run meanwhile (an executemany counts once)."""
    return recorded(app.state.db.engine.sync_engine, keep=lambda statement: "erp_" in statement)


def two_lines(reference: str) -> dict[str, Any]:
    body = entry(reference, customer="C-1002" if reference.endswith("1") else "C-1001")
    body["lines"].append(
        {
            "sku": "WIDGET-BLUE",
            "quantity": {"value": "1", "unit": "EA"},
            "unit_price": {"amount": "5.00", "currency": "EUR"},
        }
    )
    return body


async def test_a_batch_of_fifty_runs_the_statements_of_a_batch_of_one(erp: httpx.AsyncClient, app: Any) -> None:
    with statements(app) as one:
        resp = await erp.post(
            "/v1/sales-order-batches", json={"entries": [two_lines("s-0")]}, headers=bearer("erp:write")
        )
    assert resp.json()["results"][0]["outcome"] == "created"
    with statements(app) as fifty:
        resp = await erp.post(
            "/v1/sales-order-batches",
            json={"entries": [two_lines(f"m-{n}") for n in range(50)]},
            headers=bearer("erp:write"),
        )
    assert [r["outcome"] for r in resp.json()["results"]] == ["created"] * 50
    assert len(fifty) == len(one)
    assert len([s for s in fifty if s.lstrip().upper().startswith("INSERT")]) == 2  # headers, lines


async def test_every_booked_order_is_numbered_by_the_erp_with_its_lines(erp: httpx.AsyncClient, tmp_path: Path) -> None:
    resp = await erp.post(
        "/v1/sales-order-batches", json={"entries": [two_lines("n-0"), two_lines("n-1")]}, headers=bearer("erp:write")
    )
    orders = [r["sales_order"] for r in resp.json()["results"]]
    assert orders[0]["number"] != orders[1]["number"]
    assert [line["sku"] for line in orders[0]["lines"]] == ["CABLE-USB-C", "WIDGET-BLUE"]
    assert orders[0]["total"] == {"amount": "24.00", "currency": "EUR"}
    with sqlite3.connect(tmp_path / "erp.db") as conn:
        rows = conn.execute(
            "SELECT o.ext_ref, o.customer_no, l.line_no, l.qty, l.line_amount_cents FROM erp_sales_orders o "
            "JOIN erp_sales_order_lines l ON l.doc_no = o.doc_no ORDER BY o.ext_ref, l.line_no"
        ).fetchall()
    assert rows == [
        ("n-0", "C-1001", 10, 2, 1900),
        ("n-0", "C-1001", 20, 1, 500),
        ("n-1", "C-1002", 10, 2, 1900),
        ("n-1", "C-1002", 20, 1, 500),
    ]
    again = await erp.get("/v1/sales-orders", params={"external_reference": "n-1"}, headers=bearer("erp:read"))
    assert again.json()["items"] == [orders[1]]


async def test_a_reference_repeated_in_one_batch_is_booked_once(erp: httpx.AsyncClient, tmp_path: Path) -> None:
    body = {
        "entries": [
            entry("dup", customer="C-2002"),  # refused (blocked customer) before the reference is booked
            entry("dup"),
            entry("dup"),
            entry("dup", price="1.00"),
            entry("other"),
        ]
    }
    resp = await erp.post("/v1/sales-order-batches", json=body, headers=bearer("erp:write"))
    results = resp.json()["results"]
    assert [r["outcome"] for r in results] == ["refused", "created", "existing", "conflict", "created"]
    assert results[2]["sales_order"] == results[1]["sales_order"]
    assert results[3]["problem"]["status"] == 409
    assert booked(tmp_path) == [("dup", 1), ("other", 1)]


async def test_a_reference_booked_meanwhile_is_a_conflict_and_the_rest_is_booked(
    erp: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await erp.post("/v1/sales-order-batches", json={"entries": [entry("raced")]}, headers=bearer("erp:write"))

    async def not_seen_yet(self: Any, references: Any) -> dict[str, Any]:
        return {}  # as if another request booked "raced" after this batch looked

    monkeypatch.setattr(ReferenceSalesOrderBatches, "find_sales_orders", not_seen_yet)
    resp = await erp.post(
        "/v1/sales-order-batches", json={"entries": [entry("raced"), entry("fresh")]}, headers=bearer("erp:write")
    )
    results = resp.json()["results"]
    assert [r["outcome"] for r in results] == ["conflict", "created"]
    assert "being booked by another request" in results[0]["problem"]["detail"]
    assert booked(tmp_path) == [("fresh", 1), ("raced", 1)]
