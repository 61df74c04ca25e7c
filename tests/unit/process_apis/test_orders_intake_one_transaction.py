"""Intake records the Idempotency-Key's answer in the order's own transaction
(process_apis.orders.intake): nothing of a failed request stays, a retry replays the first answer
whatever the master data says now, and a marker left in flight by the kit's claim is honoured."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from process_apis.orders import intake, intake_repository
from service_kit.errors import BusinessRuleViolation
from service_kit.idempotency import IdempotencyRecord, fingerprint
from tests.unit.process_apis.conftest import Orders, as_service, order_body


async def stored_keys(orders: Orders) -> list[tuple[str, str]]:
    async with orders.app.state.db.engine.connect() as conn:
        rows = await conn.execute(select(IdempotencyRecord.key, IdempotencyRecord.state))
        return [(key, state) for key, state in rows]


async def test_a_crash_after_the_order_rows_leaves_neither_order_nor_key(
    orders: Orders, monkeypatch: pytest.MonkeyPatch
) -> None:
    insert_batch = intake_repository.insert_batch

    async def dies_after_the_rows(conn: Any, **rows: Any) -> None:
        await insert_batch(conn, **rows)
        raise RuntimeError("the process died here")

    monkeypatch.setattr(intake_repository, "insert_batch", dies_after_the_rows)
    failed = await orders.submit(key="crash-1")
    monkeypatch.undo()

    assert failed.status_code == 500
    assert failed.headers["content-type"] == "application/problem+json"
    assert await orders.find() == []
    assert await stored_keys(orders) == []
    retried = await orders.submit(key="crash-1")
    assert retried.status_code == 202, retried.text
    assert await stored_keys(orders) == [("crash-1", "done")]


async def test_a_retry_replays_the_answer_even_when_the_order_would_now_be_refused(
    orders: Orders, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await orders.submit(key="kept")
    assert first.status_code == 202

    async def now_refused(**_: Any) -> None:  # e.g. the customer was deactivated since
        raise BusinessRuleViolation("The order cannot be accepted: customer C-1001 is inactive.")

    monkeypatch.setattr(intake, "check_order", now_refused)
    again = await orders.submit(key="kept")
    other = await orders.submit(order_body("MP-NEW"), key="new")

    assert again.status_code == 202, again.text
    assert again.json() == first.json()
    assert other.status_code == 422
    assert ("new", "done") not in await stored_keys(orders)


async def test_concurrent_requests_with_one_key_all_get_the_one_answer(orders: Orders) -> None:
    headers = as_service(key="marketplace:acme-market:MP-SAME")
    body = order_body("MP-SAME")
    answers = await asyncio.gather(*(orders.client.post("/v1/orders", json=body, headers=headers) for _ in range(8)))
    assert [a.status_code for a in answers] == [202] * 8, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(await orders.find()) == 1


async def _in_flight_marker(orders: Orders, *, key: str, body: dict[str, Any], lease_left: timedelta) -> None:
    """The row the kit's claim commits before its request's work (and leaves when it crashes)."""
    now = datetime.now(UTC)
    async with orders.app.state.db.engine.begin() as conn:
        await conn.execute(
            insert(IdempotencyRecord.__table__),  # type: ignore[arg-type]
            {
                "scope": "svc-marketplace",
                "key": key,
                "fingerprint": fingerprint("POST", "/v1/orders", json.dumps(body).encode()),
                "state": "in_flight",
                "locked_until": now + lease_left,
                "created_at": now,
            },
        )


async def test_a_key_in_flight_is_409_until_its_lease_is_over_then_taken_over(orders: Orders) -> None:
    body = order_body("MP-LATE")
    await _in_flight_marker(orders, key="busy", body=body, lease_left=timedelta(seconds=60))
    await _in_flight_marker(orders, key="abandoned", body=body, lease_left=timedelta(seconds=-1))

    busy = await orders.submit(body, key="busy")
    taken = await orders.submit(body, key="abandoned")

    assert busy.status_code == 409
    assert busy.headers["content-type"] == "application/problem+json"
    assert busy.headers["retry-after"] == "1"
    assert taken.status_code == 202, taken.text
    assert ("abandoned", "done") in await stored_keys(orders)
