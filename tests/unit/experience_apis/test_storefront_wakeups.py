"""The storefront app's workers wake on work: with an hour's idle back-off, a published level
still reaches the shop (the consumer wakes on the event log's change, the pusher on the commit of
the new level), and a replay is pushed without waiting for the next look."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx

from contracts.events import AvailabilityChangedV1
from contracts.scopes import STOREFRONT_ADMIN
from experience_apis.storefront.app import create_app
from experience_apis.storefront.models import PushStatus
from experience_apis.storefront.repository import StorefrontRepository
from experience_apis.storefront.seed import DEMO_ITEMS
from experience_apis.storefront.service import PUSHES
from experience_apis.storefront.settings import StorefrontSettings
from service_kit.events import new_event, open_bus
from service_kit.workers import wakeup_for
from tests.support.tokens import bearer, static_verifier
from tests.unit.experience_apis.test_storefront import ADMIN_URL, FakeStorefront


async def until(check: Callable[[], bool]) -> None:
    """Polls ``check()`` until it is true (a bounded loop, not a timing claim)."""
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("still not true after 10 s")


async def test_an_idle_storefront_pushes_a_new_level_and_a_replay_at_once(tmp_path: Path) -> None:
    shop = FakeStorefront()
    settings = StorefrontSettings.load(
        "storefront", data_dir=tmp_path, seed_demo=True, log_json=False, admin_url=ADMIN_URL, push_poll_seconds=3600
    )
    app = create_app(settings, transport=httpx.MockTransport(shop.handle), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        pusher = wakeup_for(db=app.state.db, topic=PUSHES)
        await until(lambda: pusher.waiting > 0)  # its first pass found nothing: idle for an hour
        bus = open_bus(settings=settings)
        try:
            data = AvailabilityChangedV1(sku="WIDGET-BLUE", channel="storefront", available="8")
            await bus.publish(events=[new_event(data=data, source="/inventory")])
        finally:
            await bus.close()
        await until(lambda: bool(shop.calls))
        assert shop.levels() == [(DEMO_ITEMS["WIDGET-BLUE"], 8)]

        await until(lambda: pusher.waiting > 0)  # the push is recorded: idle again
        async with app.state.db.transaction() as session:
            row = await StorefrontRepository(session).push("WIDGET-BLUE")
            assert row is not None and row.status == PushStatus.synced
            row.status = PushStatus.dead
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sf.test") as client:
            replay = await client.post("/v1/inventory-pushes/WIDGET-BLUE/replay", headers=bearer(STOREFRONT_ADMIN))
        assert replay.status_code == 202
        await until(lambda: len(shop.levels()) == 2)
