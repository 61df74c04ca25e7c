"""The availability feed: fed by availability.changed of the marketplace channel, partner-scoped,
cursor without duplicates or gaps."""

from __future__ import annotations

import asyncio
from typing import Any

from contracts.events import AvailabilityChangedV1
from contracts.scopes import MARKETPLACE_AVAILABILITY_READ, MARKETPLACE_ORDERS_READ
from experience_apis.marketplace.channel import availability_handler
from service_kit.events import Outcome, apply_event, new_event, open_bus
from tests.support.tokens import Bearer, bearer
from tests.unit.experience_apis.conftest import Marketplace

ACME = Bearer(MARKETPLACE_AVAILABILITY_READ, client_id="acme-market", partner_id="acme-market")
ZENITH = Bearer(MARKETPLACE_AVAILABILITY_READ, client_id="zenith-market", partner_id="zenith-market")


def availability(sku: str, available: str, *, channel: str = "marketplace", version: int | None = None) -> Any:
    data = AvailabilityChangedV1(sku=sku, channel=channel, available=available)
    return new_event(data=data, source="/inventory", subject=f"availability/{channel}/{sku}", entity_version=version)


async def apply(mp: Marketplace, event: Any) -> Outcome:
    handler = availability_handler(channel="marketplace")
    return await apply_event(db=mp.app.state.db, group="marketplace", event=event, handler=handler)


async def feed(mp: Marketplace, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    resp = await mp.client.get("/v2/availability", params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def levels(body: dict[str, Any]) -> list[tuple[str, int]]:
    return [(i["seller_sku"], i["available"]) for i in body["items"]]


async def test_each_partner_sees_its_own_listings_only(marketplace: Marketplace) -> None:
    assert await feed(marketplace, ACME) == {"items": [], "next_cursor": "0"}
    await apply(marketplace, availability("WIDGET-BLUE", "5"))
    await apply(marketplace, availability("CABLE-USB-C", "3.5"))
    await apply(marketplace, availability("GADGET-PRO", "9", channel="storefront"))  # another channel's stock

    assert levels(await feed(marketplace, ACME)) == [("ACME-WB", 5), ("ACME-USB", 3)]
    assert levels(await feed(marketplace, ZENITH)) == [("ZEN-0001", 5), ("ZEN-0002", 3)]


async def test_the_cursor_neither_repeats_nor_skips(marketplace: Marketplace) -> None:
    for sku, level in [("WIDGET-BLUE", "5"), ("WIDGET-RED", "1"), ("GADGET-PRO", "2")]:
        await apply(marketplace, availability(sku, level))
    first = await feed(marketplace, ACME, limit=2)
    assert levels(first) == [("ACME-WB", 5), ("ACME-WR", 1)]
    second = await feed(marketplace, ACME, since=first["next_cursor"], limit=2)
    assert levels(second) == [("ACME-GP", 2)]
    assert await feed(marketplace, ACME, since=second["next_cursor"]) == {
        "items": [],
        "next_cursor": second["next_cursor"],
    }

    await apply(marketplace, availability("WIDGET-BLUE", "4"))
    await apply(marketplace, availability("WIDGET-BLUE", "4"))  # no change: nothing new in the feed
    await apply(marketplace, availability("WIDGET-RED", "0"))
    third = await feed(marketplace, ACME, since=second["next_cursor"])
    assert levels(third) == [("ACME-WB", 4), ("ACME-WR", 0)]
    # From the start, each listing appears once, at its latest level.
    assert levels(await feed(marketplace, ACME)) == [("ACME-GP", 2), ("ACME-WB", 4), ("ACME-WR", 0)]


async def test_redelivered_and_stale_events_change_nothing(marketplace: Marketplace) -> None:
    newer = availability("WIDGET-BLUE", "7", version=2)
    assert await apply(marketplace, newer) == Outcome.applied
    assert await apply(marketplace, newer) == Outcome.duplicate
    assert await apply(marketplace, availability("WIDGET-BLUE", "1", version=1)) == Outcome.stale
    assert levels(await feed(marketplace, ACME)) == [("ACME-WB", 7)]


async def test_the_feed_needs_its_scope_and_a_valid_cursor(marketplace: Marketplace) -> None:
    orders_only = bearer(MARKETPLACE_ORDERS_READ, client_id="acme-market", partner_id="acme-market")
    assert (await marketplace.client.get("/v1/availability", headers=orders_only)).status_code == 403
    resp = await marketplace.client.get("/v1/availability", params={"since": "-1"}, headers=ACME)
    assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json")
    resp = await marketplace.client.get("/v1/availability", headers=ACME)
    assert resp.status_code == 200 and resp.headers.get("Deprecation")  # v1 serves it too, deprecated


async def test_events_on_the_bus_reach_the_feed(marketplace: Marketplace) -> None:
    bus = open_bus(settings=marketplace.app.state.settings)
    try:
        await bus.publish(events=[availability("LEGACY-DIAL", "11")])
    finally:
        await bus.close()
    body: dict[str, Any] = {}
    for _ in range(100):  # bounded polling: the consumer worker applies it in the background
        body = await feed(marketplace, ACME)
        if body["items"]:
            break
        await asyncio.sleep(0.05)
    assert levels(body) == [("ACME-DIAL", 11)]
