"""Group commit of intake (process_apis.orders.intake_writer): orders that arrive together are
written in one transaction; a batch that cannot take one of them is rolled back whole and each of
its orders is written on its own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select

from contracts import OrderCreate
from process_apis.orders import intake, intake_repository
from process_apis.orders.intake_writer import IntakeWriter, Rows
from process_apis.orders.models import OrderRow
from service_kit.idempotency import IdempotencyRecord
from tests.unit.process_apis.conftest import Orders, order_body


def rows_of(channel_order_id: str, *, key: str) -> Rows:
    now = datetime.now(UTC)
    order_id = f"ord_{channel_order_id.lower()}"
    order = OrderCreate.model_validate(order_body(channel_order_id))
    built = intake._rows(order, order_id=order_id, partner_id="acme-market", at=now)
    answer = intake_repository.KeyAnswer("svc-marketplace", key, "f" * 64, 202, f'{{"id": "{order_id}"}}', now)
    return Rows(key=intake_repository.key_row(answer), **built)


async def stored(orders: Orders) -> tuple[list[str], list[str]]:
    async with orders.app.state.db.engine.connect() as conn:
        keys = list((await conn.execute(select(IdempotencyRecord.key).order_by(IdempotencyRecord.key))).scalars())
        ids = list((await conn.execute(select(OrderRow.channel_order_id).order_by(OrderRow.id))).scalars())
    return keys, ids


def on_its_own(name: str, calls: list[str]) -> Any:
    async def one() -> str:
        calls.append(name)
        return f"{name} on its own"

    return one


async def test_orders_written_together_share_one_transaction(orders: Orders) -> None:
    writer: IntakeWriter[str] = IntakeWriter(orders.app.state.db.engine)
    writing: list[object] = []
    commits: list[object] = []

    def wrote(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO orders"):
            writing.append(conn)

    def committed(conn: Any) -> None:
        commits.append(conn)

    engine = orders.app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", wrote)
    event.listen(engine, "commit", committed)
    calls: list[str] = []
    try:
        answers = await asyncio.gather(
            *(
                writer.write(rows_of(f"MP-{n}", key=f"k-{n}"), written=f"MP-{n}", one=on_its_own(f"MP-{n}", calls))
                for n in range(5)
            )
        )
    finally:
        event.remove(engine, "before_cursor_execute", wrote)
        event.remove(engine, "commit", committed)

    assert answers == [f"MP-{n}" for n in range(5)]
    assert calls == []
    assert len(writing) == 1  # one executemany for the five orders
    assert len([conn for conn in commits if conn in writing]) == 1
    assert await stored(orders) == ([f"k-{n}" for n in range(5)], [f"MP-{n}" for n in range(5)])


async def test_a_batch_with_a_key_twice_is_rolled_back_and_each_order_written_on_its_own(orders: Orders) -> None:
    writer: IntakeWriter[str] = IntakeWriter(orders.app.state.db.engine)
    calls: list[str] = []

    answers = await asyncio.gather(
        writer.write(rows_of("MP-1", key="same"), written="MP-1", one=on_its_own("MP-1", calls)),
        writer.write(rows_of("MP-2", key="new"), written="MP-2", one=on_its_own("MP-2", calls)),
        writer.write(rows_of("MP-3", key="same"), written="MP-3", one=on_its_own("MP-3", calls)),
    )

    assert answers == ["MP-1 on its own", "MP-2 on its own", "MP-3 on its own"]
    assert sorted(calls) == ["MP-1", "MP-2", "MP-3"]
    assert await stored(orders) == ([], [])  # nothing of the failed batch stayed


async def test_orders_sent_together_through_the_api_are_each_answered_once(orders: Orders) -> None:
    """Through the endpoint: new orders, a retry of one of them and a duplicate under another key,
    all at once; whichever batches they fall in, each gets its own answer."""
    first = await orders.submit(order_body("MP-0"), key="k-0")
    answers = await asyncio.gather(
        *(orders.submit(order_body(f"MP-{n}"), key=f"k-{n}") for n in range(1, 6)),
        orders.submit(order_body("MP-0"), key="k-0"),
        orders.submit(order_body("MP-0"), key="k-other"),
    )

    assert [a.status_code for a in answers] == [202] * 6 + [409], [a.text for a in answers]
    assert answers[5].json() == first.json()
    assert answers[6].json()["existing_order_id"] == first.json()["id"]
    assert len(await orders.find()) == 6
