"""What intake reads per order: the partner's account and listings come from the service's
in-memory directory (fresh within ``partner_cache_seconds``), so an order of a known partner costs
the database only its idempotency claim, the already-submitted check, the insert and the answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, event, insert

from experience_apis.marketplace.directory import PartnerAccountRef, PartnerDirectory
from experience_apis.marketplace.models import Listing
from tests.unit.experience_apis.conftest import Marketplace
from tests.unit.experience_apis.marketplace_fakes import ACME, order_body_v2


@pytest.fixture
def tables_read(marketplace: Marketplace) -> Iterator[list[str]]:
    """The tables each statement the marketplace sends to its database names first."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = marketplace.app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def submit(marketplace: Marketplace, marketplace_order_id: str) -> Any:
    body = order_body_v2(marketplace_order_id=marketplace_order_id)
    return marketplace.client.post("/v2/orders", json=body, headers=ACME | {"Idempotency-Key": marketplace_order_id})


async def test_a_known_partners_order_reads_no_account_or_listing(
    marketplace: Marketplace, tables_read: list[str]
) -> None:
    assert (await submit(marketplace, "ACME-1")).status_code == 202
    tables_read.clear()

    second = await submit(marketplace, "ACME-2")

    assert second.status_code == 202, second.text
    assert not [s for s in tables_read if "marketplace_partner_accounts" in s or "marketplace_listings" in s]
    # The service's background workers (woken by the first order's commit) share the engine and may
    # read their own tables meanwhile (a CI run saw one such SELECT): count the intake's tables only.
    intakes = [s for s in tables_read if "idempotency_keys" in s or "marketplace_submitted_orders" in s]
    assert [s.split(None, 1)[0] for s in intakes] == ["INSERT", "SELECT", "INSERT", "UPDATE"]


async def test_a_listing_removed_in_the_database_is_refused_once_the_directory_is_refreshed(
    marketplace: Marketplace,
) -> None:
    assert (await submit(marketplace, "ACME-1")).status_code == 202
    async with marketplace.app.state.db.transaction() as session:
        await session.execute(delete(Listing).where(Listing.partner_id == "acme-market"))
    marketplace.app.state.partner_directory.forget()  # what max_age seconds do on their own

    refused = await submit(marketplace, "ACME-2")

    assert refused.status_code == 422
    assert "not listed" in refused.json()["detail"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_directory_reads_again_after_max_age_and_remembers_absence() -> None:
    clock = Clock()
    directory = PartnerDirectory(max_age=5.0, clock=clock)
    reads: list[Any] = []
    listed = {"SKU-A": "CANON-A"}

    async def read_account(partner_id: str) -> PartnerAccountRef | None:
        reads.append(partner_id)
        return PartnerAccountRef(partner_id, "C-1", "EUR")

    async def read_listings(partner_id: str, wanted: set[str]) -> dict[str, str]:
        reads.append(sorted(wanted))
        return {s: listed[s] for s in wanted if s in listed}

    assert await directory.listed_skus("p", ["SKU-A", "SKU-B"], read=read_listings) == {"SKU-A": "CANON-A"}
    assert await directory.account("p", read=read_account) == PartnerAccountRef("p", "C-1", "EUR")
    clock.now += 4.9
    assert await directory.listed_skus("p", ["SKU-B", "SKU-A"], read=read_listings) == {"SKU-A": "CANON-A"}
    assert await directory.account("p", read=read_account) is not None
    assert reads == [["SKU-A", "SKU-B"], "p"]  # the unlisted SKU-B was not asked for again either

    listed["SKU-B"] = "CANON-B"
    clock.now += 0.2
    assert await directory.listed_skus("p", ["SKU-A", "SKU-B"], read=read_listings) == listed
    assert reads[-1] == ["SKU-A", "SKU-B"]


async def test_a_new_listing_is_taken_after_max_age(marketplace: Marketplace) -> None:
    directory: PartnerDirectory = marketplace.app.state.partner_directory
    body = order_body_v2(marketplace_order_id="ACME-NEW")
    body["lines"] = [dict(body["lines"][0], seller_sku="ACME-NEW-SKU")]
    headers = ACME | {"Idempotency-Key": "ACME-NEW"}
    assert (await marketplace.client.post("/v2/orders", json=body, headers=headers)).status_code == 422
    async with marketplace.app.state.db.transaction() as session:
        await session.execute(
            insert(Listing).values(partner_id="acme-market", seller_sku="ACME-NEW-SKU", sku="WIDGET-BLUE")
        )
    directory.forget()

    accepted = await marketplace.client.post("/v2/orders", json=body, headers=headers)

    assert accepted.status_code == 202, accepted.text
