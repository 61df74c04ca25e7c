"""The stock history the ops console charts (issue 14): sync lag per channel and minute, written by
the publisher in the pass that publishes, and what each reconciliation found per channel; read back
through ``GET /v1/admin/sync-history`` and ``/v1/admin/reconcile-history``; pruned after
``history_days``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from process_apis.inventory import history, workers
from process_apis.inventory.app import create_app
from process_apis.inventory.models import ReconcileRun, SyncMinute
from process_apis.inventory.projection import PositionState
from process_apis.inventory.publisher import ChannelThrottle, publish_due
from process_apis.inventory.reconcile import reconcile_with
from process_apis.inventory.settings import InventorySettings, default_channels
from service_kit.db import Database
from tests.support.tokens import bearer, static_verifier
from tests.unit.process_apis.test_inventory_support import T0, apply, moved, projection_db

RULES = default_channels()


async def minutes(db: Database) -> dict[str, tuple[int, float, float, int]]:
    async with db.sessions() as session:
        rows = (await session.execute(select(SyncMinute))).scalars()
        return {r.channel: (r.updates, round(r.lag_sum, 3), round(r.lag_max, 3), r.within_1s) for r in rows}


async def test_each_publication_adds_its_lag_to_its_channel_and_minute(tmp_path: Path) -> None:
    async with projection_db(tmp_path) as db:
        throttle = ChannelThrottle({})
        await apply(db, moved("WIDGET-RED", "AMS", on_hand=5, version=1, at=T0))
        assert await publish_due(db=db, throttle=throttle, now=T0 + timedelta(seconds=0.5)) == 3
        await apply(db, moved("WIDGET-RED", "AMS", on_hand=9, version=2, at=T0 + timedelta(seconds=1)))
        assert await publish_due(db=db, throttle=throttle, now=T0 + timedelta(seconds=3.5)) == 3

        # per channel: two updates in the minute, 0.5 s and 2.5 s late; one of them within a second
        assert await minutes(db) == {channel: (2, 3.0, 2.5, 1) for channel in RULES}


async def test_a_reconciliation_records_every_channel_drift_or_not(tmp_path: Path) -> None:
    async with projection_db(tmp_path) as db:
        await apply(db, moved("WIDGET-RED", "AMS", on_hand=5, version=1))
        await publish_due(db=db, throttle=ChannelThrottle({}), now=T0 + timedelta(seconds=1))
        truth = [PositionState("WIDGET-RED", "AMS", on_hand=5, reserved=0, version=1, moved_at=T0)]
        lost = [PositionState("WIDGET-RED", "AMS", on_hand=2, reserved=0, version=2, moved_at=T0)]
        async with db.transaction() as session:
            await reconcile_with(session=session, stock=truth, rules=RULES, window=0.25, repair=False, now=T0)
            await reconcile_with(
                session=session, stock=lost, rules=RULES, window=0.25, repair=False, now=T0 + timedelta(minutes=5)
            )
        async with db.sessions() as session:
            runs = (await session.execute(select(ReconcileRun).order_by(ReconcileRun.id))).scalars()
            found = [(r.checked_at.replace(tzinfo=UTC) - T0, r.channel, r.drift) for r in runs]
        five = timedelta(minutes=5)
        assert found == [(timedelta(0), c, 0) for c in RULES] + [(five, c, 1) for c in RULES]


async def test_history_older_than_kept_is_pruned(tmp_path: Path) -> None:
    async with projection_db(tmp_path) as db:
        async with db.transaction() as session:
            await history.add_sync(session=session, lags=[history.Lag("b2b", 0.2)], now=T0)
            await history.add_sync(session=session, lags=[history.Lag("b2b", 0.4)], now=T0 + timedelta(days=8))
            await history.add_reconciliation(
                session=session, checked_at=T0, channels=["b2b"], drifting={}, repaired=False
            )
        async with db.transaction() as session:
            await history.prune(session=session, before=T0 + timedelta(days=1))
        async with db.sessions() as session:
            kept = [m.replace(tzinfo=UTC) for m in (await session.execute(select(SyncMinute.minute))).scalars()]
            runs = list((await session.execute(select(ReconcileRun))).scalars())
        assert (kept, runs) == ([T0 + timedelta(days=8)], [])


@pytest.fixture
async def inventory(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = InventorySettings.load(
        "inventory",
        data_dir=tmp_path / "inventory",
        log_json=False,
        client_id="",
        client_secret="",
        workers_enabled=False,
    )
    app = create_app(settings, transport=httpx.MockTransport(lambda _: httpx.Response(503)), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        yield app


async def test_the_history_is_read_per_channel_and_minute_through_the_admin_api(inventory: FastAPI) -> None:
    now = datetime.now(UTC)
    async with inventory.state.db.transaction() as session:
        await history.add_sync(
            session=session, lags=[history.Lag("storefront", 0.5), history.Lag("storefront", 1.5)], now=now
        )
        await history.add_reconciliation(
            session=session, checked_at=now, channels=["storefront", "b2b"], drifting={"b2b": 3}, repaired=True
        )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=inventory), base_url="http://inv.test") as client:
        sync = await client.get("/v1/admin/sync-history", params={"hours": 1}, headers=bearer("inventory:read"))
        runs = await client.get("/v1/admin/reconcile-history", headers=bearer("inventory:read"))
        refused = await client.get("/v1/admin/sync-history", params={"hours": 0}, headers=bearer("inventory:read"))
        no_scope = await client.get("/v1/admin/sync-history", headers=bearer("orders:read"))

    assert sync.status_code == 200, sync.text
    [channel] = sync.json()["channels"]
    [minute] = channel["minutes"]
    assert (channel["channel"], minute["updates"], minute["mean_lag_seconds"], minute["max_lag_seconds"]) == (
        "storefront",
        2,
        1.0,
        1.5,
    )
    assert minute["on_time_share"] == 0.5
    assert [(r["channel"], r["drift"], r["repaired"]) for r in runs.json()["runs"]] == [
        ("storefront", 0, True),
        ("b2b", 3, True),
    ]
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
    assert no_scope.status_code == 403


async def test_the_reconcile_history_answers_the_newest_rows_up_to_its_limit(inventory: FastAPI) -> None:
    now = datetime.now(UTC)
    async with inventory.state.db.transaction() as session:
        for minutes_ago in (30, 20, 10):
            await history.add_reconciliation(
                session=session,
                checked_at=now - timedelta(minutes=minutes_ago),
                channels=["b2b"],
                drifting={"b2b": minutes_ago},
                repaired=False,
            )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=inventory), base_url="http://inv.test") as client:
        runs = await client.get("/v1/admin/reconcile-history", params={"limit": 2}, headers=bearer("inventory:read"))
    assert [r["drift"] for r in runs.json()["runs"]] == [20, 10]  # the newest two, oldest first


async def test_the_history_is_pruned_on_its_own_schedule_even_without_scheduled_reconciliations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = InventorySettings.load(
        "inventory", data_dir=tmp_path / "inventory", log_json=False, client_id="", client_secret="",
        workers_enabled=False, reconcile_interval=0, history_days=1,
    )  # fmt: skip
    app = create_app(settings, transport=httpx.MockTransport(lambda _: httpx.Response(503)), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        old = datetime.now(UTC) - timedelta(days=2)
        async with app.state.db.transaction() as session:
            await history.add_sync(session=session, lags=[history.Lag("b2b", 0.2)], now=old)
            await history.add_sync(session=session, lags=[history.Lag("b2b", 0.3)], now=datetime.now(UTC))
        ran = asyncio.Event()

        async def scheduled(name: str, job: Any, **_: Any) -> None:
            assert name == "inventory_history_prune"
            await job()
            ran.set()

        monkeypatch.setattr(workers, "run_scheduled", scheduled)
        await workers.prune_history_on_schedule(app)
        assert ran.is_set()
        async with app.state.db.sessions() as session:
            kept = list((await session.execute(select(SyncMinute.lag_sum))).scalars())
    assert kept == [0.3]
