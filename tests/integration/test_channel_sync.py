"""Stock reaches the channels, in process: an availability.changed event on the shared bus shows
up in the marketplace partner's feed, at the partner's webhook receiver (signed), and as an
inventory level pushed to the storefront's admin API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from contracts.events import AvailabilityChangedV1
from service_kit.events import new_event, open_bus
from service_kit.webhooks import verify
from tests.support.suite import running_suite


async def test_availability_reaches_the_feed_a_webhook_and_the_storefront(tmp_path: Path) -> None:
    received: list[httpx.Request] = []
    pushed: list[dict[str, Any]] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(204)

    def storefront_admin(request: httpx.Request) -> httpx.Response:
        pushed.append(json.loads(request.content))
        return httpx.Response(200, json={})

    extra = {
        "marketplace": {"webhook_allow_hosts": ["receiver.test"]},
        "storefront": {"admin_url": "https://shop.test/admin/api/2024-01", "push_poll_seconds": 0.05},
    }
    async with running_suite(tmp_path, **extra) as suite:
        suite.transport.routes["receiver.test"] = httpx.MockTransport(receiver)
        suite.transport.routes["shop.test"] = httpx.MockTransport(storefront_admin)
        token = await suite.token("acme-market")
        headers = {"Authorization": f"Bearer {token}"}
        async with suite.client("marketplace") as marketplace:
            created = await marketplace.post(
                "/v2/webhooks",
                json={"url": "http://receiver.test/stock", "event_types": ["availability.changed"]},
                headers=headers,
            )
            assert created.status_code == 201, created.text
            secret = created.json()["secret"]

            bus = open_bus(settings=suite.apps["marketplace"].state.settings)
            try:
                events = [
                    new_event(
                        data=AvailabilityChangedV1(sku="WIDGET-BLUE", channel=channel, available="17"),
                        source="/inventory",
                        subject=f"availability/{channel}/WIDGET-BLUE",
                        # Newer than anything the running inventory process publishes for this SKU
                        # (its start-up levels race with ours), so the consumers keep ours.
                        entity_version=10**9,
                    )
                    for channel in ("marketplace", "storefront")
                ]
                await bus.publish(events=events)
            finally:
                await bus.close()

            # The inventory process publishes the other SKUs' levels as well: look for ours.
            ours = ("ACME-WB", 17)
            levels: list[tuple[str, int]] = []
            hooks: list[tuple[str, int]] = []
            for _ in range(200):  # bounded polling: consumers, the webhook worker and the pusher run in the background
                feed = (await marketplace.get("/v2/availability", headers=headers)).json()
                levels = [(i["seller_sku"], i["available"]) for i in feed["items"]]
                hooks = [_level(r) for r in received]
                if ours in levels and ours in hooks and {"inventory_item_id": 44001, "available": 17} in pushed:
                    break
                await asyncio.sleep(0.05)

    assert ours in levels and all(sku.startswith("ACME-") for sku, _ in levels)
    assert ours in hooks
    for request in received:
        verify(secret=secret, body=request.content, headers=dict(request.headers))
    assert {"inventory_item_id": 44001, "available": 17} in pushed


def _level(request: httpx.Request) -> tuple[str, int]:
    data = json.loads(request.content)["data"]
    return data["seller_sku"], data["available"]
