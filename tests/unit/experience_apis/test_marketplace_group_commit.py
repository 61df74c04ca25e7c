"""Intake's writes go through a group commit (``experience_apis.marketplace.intake_writer``): the
claims and answers of orders taken in at the same time commit together, and a batch that cannot
take one of them (a key or an order already there) still gives each request the answer it gets
on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select

from experience_apis.marketplace.models import SubmittedOrder
from service_kit.idempotency import IdempotencyRecord
from tests.unit.experience_apis.conftest import Marketplace
from tests.unit.experience_apis.marketplace_fakes import ACME, PROBLEM, order_body_v2


@pytest.fixture
def commits(marketplace: Marketplace) -> Iterator[list[None]]:
    """One entry per transaction the marketplace commits."""
    seen: list[None] = []

    def record(_conn: Any) -> None:
        seen.append(None)

    engine = marketplace.app.state.db.engine.sync_engine
    event.listen(engine, "commit", record)
    yield seen
    event.remove(engine, "commit", record)


def submit(marketplace: Marketplace, marketplace_order_id: str, key: str | None = None) -> Any:
    body = order_body_v2(marketplace_order_id=marketplace_order_id)
    return marketplace.client.post(
        "/v2/orders", json=body, headers=ACME | {"Idempotency-Key": key or marketplace_order_id}
    )


async def count(marketplace: Marketplace, table: Any) -> int:
    async with marketplace.app.state.db.transaction() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def test_orders_taken_in_at_once_share_their_commits(marketplace: Marketplace, commits: list[None]) -> None:
    assert (await submit(marketplace, "ACME-0")).status_code == 202  # the directory is warm
    commits.clear()

    answers = await asyncio.gather(*(submit(marketplace, f"ACME-{n}") for n in range(1, 21)))

    assert [a.status_code for a in answers] == [202] * 20, [a.text for a in answers if a.status_code != 202]
    assert len({a.json()["order_reference"] for a in answers}) == 20
    # Two commits per order before (its claim, then its answer with its row): 40 here.
    assert len(commits) < 20
    assert await count(marketplace, SubmittedOrder) == 21
    async with marketplace.app.state.db.transaction() as session:
        states = (await session.execute(select(IdempotencyRecord.state, func.count()).group_by("state"))).all()
    assert [tuple(row) for row in states] == [("done", 21)]


async def test_the_same_key_twice_at_once_is_one_order_and_a_409(marketplace: Marketplace) -> None:
    first, second = await asyncio.gather(submit(marketplace, "ACME-1", "k-1"), submit(marketplace, "ACME-1", "k-1"))

    statuses = sorted([first.status_code, second.status_code])
    assert statuses in ([202, 202], [202, 409]), (first.text, second.text)
    refused = [a for a in (first, second) if a.status_code == 409]
    for answer in refused:
        assert answer.headers["content-type"] == PROBLEM
        assert answer.headers["retry-after"]
    assert len(marketplace.orders.posted()) == 1


async def test_one_key_for_two_orders_at_once_hands_over_only_one(marketplace: Marketplace) -> None:
    """The claim is committed before the orders API is called, so the second order under the key
    never reaches it: no order the partner was refused is processed anyway."""
    first, second = await asyncio.gather(submit(marketplace, "ACME-1", "k-1"), submit(marketplace, "ACME-2", "k-1"))

    assert sorted([first.status_code, second.status_code]) in ([202, 409], [202, 422]), (first.text, second.text)
    assert len(marketplace.orders.posted()) == 1
    assert await count(marketplace, SubmittedOrder) == 1


async def test_a_batch_with_an_order_already_there_answers_every_request(marketplace: Marketplace) -> None:
    """The same order under two keys at once: both rows cannot go in, the batch rolls back and
    each is written on its own; both answer the one order."""
    first, second = await asyncio.gather(submit(marketplace, "ACME-1", "k-1"), submit(marketplace, "ACME-1", "k-2"))

    assert first.status_code == second.status_code == 202, (first.text, second.text)
    assert first.json()["order_reference"] == second.json()["order_reference"]
    assert await count(marketplace, SubmittedOrder) == 1
    again = await submit(marketplace, "ACME-1", "k-2")
    assert again.json() == second.json()
