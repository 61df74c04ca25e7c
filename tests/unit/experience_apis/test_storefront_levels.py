"""Levels in, without waste: an unmapped SKU is parked once (not queued and failed again per
level) and is pushed once it is mapped; a consumer batch records each SKU's newest level once; the
pusher's idle cap is a setting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.events import AvailabilityChangedV1
from experience_apis.storefront import service
from experience_apis.storefront.app import create_app
from experience_apis.storefront.models import PushStatus, StorefrontItem
from experience_apis.storefront.repository import StorefrontRepository
from experience_apis.storefront.seed import DEMO_ITEMS
from experience_apis.storefront.settings import StorefrontSettings
from service_kit.events import new_event
from service_kit.events.batch import apply_events
from tests.support.tokens import static_verifier
from tests.unit.experience_apis.test_storefront import ADMIN_URL, FakeStorefront, Pushes, pushes_at


@pytest.fixture
async def pushes(tmp_path: Path) -> AsyncIterator[Pushes]:
    async for p in pushes_at(tmp_path, rate=50):
        yield p


async def row_of(pushes: Pushes, sku: str) -> Any:
    async with pushes.db.transaction() as session:
        return await StorefrontRepository(session).push(sku)


async def test_an_unmapped_sku_is_parked_once_and_keeps_its_latest_level(pushes: Pushes) -> None:
    await pushes.level("NOT-IN-SHOP", "9")
    parked = await row_of(pushes, "NOT-IN-SHOP")
    assert parked.status == PushStatus.dead and "no storefront item" in parked.last_error

    for level in ("8", "7"):
        await pushes.level("NOT-IN-SHOP", level)
        # Not queued again: the pusher has nothing to do and the storefront is never called.
        assert await service.push_due(db=pushes.db, admin=pushes.admin, schedule=(0,)) == 0
    row = await row_of(pushes, "NOT-IN-SHOP")
    assert (row.status, row.available, row.attempts, row.updated_at) == (PushStatus.dead, 7, 0, parked.updated_at)
    assert pushes.shop.calls == []
    assert (await pushes.status()).dead == 1


async def test_an_sku_mapped_later_is_pushed_with_its_next_level(pushes: Pushes) -> None:
    await pushes.level("NEW-SKU", "3")
    async with pushes.db.transaction() as session:
        session.add(StorefrontItem(sku="NEW-SKU", inventory_item_id=55001))
    await pushes.level("NEW-SKU", "4")
    await pushes.push()
    assert pushes.shop.levels() == [(55001, 4)]
    assert (await row_of(pushes, "NEW-SKU")).status == PushStatus.synced


async def test_a_batch_records_each_skus_newest_level_once(pushes: Pushes) -> None:
    def level(sku: str, available: str, channel: str = "storefront") -> Any:
        data = AvailabilityChangedV1(sku=sku, channel=channel, available=available)
        return new_event(data=data, source="/inventory")

    events = [level("WIDGET-BLUE", "5"), level("WIDGET-RED", "2"), level("WIDGET-BLUE", "4")]
    events += [level("WIDGET-BLUE", "1", channel="b2b"), level("WIDGET-BLUE", "3"), level("NOT-IN-SHOP", "6")]
    handler = service.availability_batch_handler(channel="storefront")
    await apply_events(db=pushes.db, group="storefront", events=events, handler=handler)

    blue = await row_of(pushes, "WIDGET-BLUE")
    assert (blue.available, blue.version, blue.status) == (3, 1, PushStatus.pending)  # one write for three levels
    assert (await row_of(pushes, "NOT-IN-SHOP")).status == PushStatus.dead
    await pushes.push()
    assert sorted(pushes.shop.levels()) == sorted([(DEMO_ITEMS["WIDGET-BLUE"], 3), (DEMO_ITEMS["WIDGET-RED"], 2)])


async def test_the_pushers_idle_cap_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backoffs: list[tuple[float, float]] = []
    started = asyncio.Event()

    async def recording_run_worker(name: str, unit: Any, *, idle_backoff: tuple[float, float], **_: Any) -> None:
        backoffs.append(idle_backoff)
        started.set()

    monkeypatch.setattr(service, "run_worker", recording_run_worker)
    assert StorefrontSettings.model_fields["push_max_idle_seconds"].default == 10.0
    settings = StorefrontSettings.load(
        "storefront", data_dir=tmp_path, log_json=False, admin_url=ADMIN_URL, push_max_idle_seconds=42.0
    )
    app = create_app(settings, transport=httpx.MockTransport(FakeStorefront().handle), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(started.wait(), timeout=10)
    assert backoffs == [(0.5, 42.0)]


def test_the_consumer_lingers_after_a_batch_that_was_not_full(monkeypatch: pytest.MonkeyPatch) -> None:
    import experience_apis.storefront.app as storefront_app

    lingers: list[float] = []
    consumer = storefront_app.batch_event_consumer

    def recording_consumer(**kwargs: Any) -> Any:
        lingers.append(kwargs.get("linger", 0.0))
        return consumer(**kwargs)

    monkeypatch.setattr(storefront_app, "batch_event_consumer", recording_consumer)
    assert StorefrontSettings.model_fields["consumer_linger"].default == 0.25
    create_app(StorefrontSettings(service="storefront", consumer_linger=0.5), verifier=static_verifier())
    assert lingers == [0.5]
