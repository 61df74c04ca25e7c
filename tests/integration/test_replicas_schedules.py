"""The scheduled jobs of the services run once per interval across three replicas (issue 9): the
gateway's audit prune, inventory's reconcile and orders' idempotency prune. Each
replica is its own ``Database`` on one store (an SQLite file here, PostgreSQL in the second run)
and runs the service's own scheduler, as three processes would, on a clock the test moves one
interval at a time once the job ran and every replica tried that interval (so a second run would
have shown). The work the job does is recorded, not done (what it does is tested with each
service). ``service_kit.leases`` has the mechanism's own tests (tests/unit/service_kit/test_leases.py)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import MetaData

from gateway.audit import AuditRetention
from gateway.models import Base as GatewayBase
from process_apis.inventory import workers as inventory_workers
from process_apis.inventory.models import Base as InventoryBase
from process_apis.orders.flows import worker as orders_worker
from process_apis.orders.models import Base as OrdersBase
from service_kit import leases
from service_kit.db import Database
from service_kit.workers import stop_event
from tests.unit.service_kit.test_leases import SteppedClock

pytestmark = pytest.mark.xdist_group("postgres")

REPLICAS, INTERVALS, EVERY = 3, 3, 0.05


async def replicas_on(request: pytest.FixtureRequest, tmp_path: Path, metadata: MetaData) -> list[Database]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    dbs = [Database(url, metadata=[metadata]) for _ in range(REPLICAS)]
    await dbs[0].create_schema()
    return dbs


@pytest.fixture(params=["sqlite", "postgresql"])
async def gateway_dbs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[Database]]:
    dbs = await replicas_on(request, tmp_path, GatewayBase.metadata)
    yield dbs
    for db in dbs:
        await db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def inventory_dbs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[Database]]:
    dbs = await replicas_on(request, tmp_path, InventoryBase.metadata)
    yield dbs
    for db in dbs:
        await db.dispose()


async def test_the_gateway_audit_prune_runs_once_per_interval_across_three_replicas(
    gateway_dbs: list[Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, stop, ran = SteppedClock(every=EVERY), asyncio.Event(), []
    clock.count_attempts(monkeypatch)
    loops = []
    for db in gateway_dbs:
        retention = AuditRetention(
            db, retention_days=30, interval=EVERY, batch_size=100, registry=CollectorRegistry(), clock=clock
        )

        async def prune(retention: AuditRetention = retention) -> int:
            ran.append(clock.slot())
            return await AuditRetention.prune(retention)

        retention.prune = prune  # type: ignore[method-assign]
        loops.append(asyncio.ensure_future(retention.run(stop_event=stop)))
    first = clock.slot()
    try:
        await clock.step_through(INTERVALS, replicas=REPLICAS, runs=lambda: len(ran))
    finally:
        stop.set()
        await asyncio.gather(*loops)
    assert ran == list(range(first, first + INTERVALS))  # at start-up, then once per interval


async def test_inventory_reconcile_runs_once_per_interval_across_three_replicas(
    inventory_dbs: list[Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, ran = SteppedClock(every=EVERY), []
    clock.count_attempts(monkeypatch)

    async def reconcile(**_: Any) -> SimpleNamespace:
        ran.append(clock.slot())
        return SimpleNamespace(drift=[], repaired=0, checked_at=datetime.now(UTC))

    async def prune_history(**_: Any) -> None:
        return None

    monkeypatch.setattr(inventory_workers, "reconcile", SimpleNamespace(reconcile=reconcile))
    monkeypatch.setattr(inventory_workers, "upstream", lambda app, name: None)
    monkeypatch.setattr(inventory_workers, "run_scheduled", functools.partial(leases.run_scheduled, clock=clock))
    if hasattr(inventory_workers, "stock_history"):
        monkeypatch.setattr(inventory_workers, "stock_history", SimpleNamespace(prune=prune_history))
    settings = SimpleNamespace(
        reconcile_interval=EVERY, channels={}, coalesce_window=0.05, reconcile_repair=False, history_days=30
    )
    apps = [
        SimpleNamespace(state=SimpleNamespace(settings=settings, db=db, inventory_metrics=None)) for db in inventory_dbs
    ]
    loops = [asyncio.ensure_future(inventory_workers.reconcile_on_schedule(app)) for app in apps]  # type: ignore[arg-type]
    start = clock.slot()
    try:
        # The interval the replicas start in has no run (the first is at the next one): let each
        # replica take its first step (it notes the interval it starts in), then move on.
        await asyncio.sleep(0)
        assert ran == []
        clock.now += EVERY
        await clock.step_through(INTERVALS, replicas=REPLICAS, runs=lambda: len(ran))
    finally:
        for app in apps:
            stop_event(app).set()  # type: ignore[arg-type]
        await asyncio.gather(*loops)
    assert ran == list(range(start + 1, start + 1 + INTERVALS))


@pytest.fixture(params=["sqlite", "postgresql"])
async def orders_dbs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[Database]]:
    dbs = await replicas_on(request, tmp_path, OrdersBase.metadata)
    yield dbs
    for db in dbs:
        await db.dispose()


async def test_the_orders_idempotency_prune_runs_once_per_interval_across_three_replicas(
    orders_dbs: list[Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, ran = SteppedClock(every=EVERY), []
    clock.count_attempts(monkeypatch)

    async def prune(app: Any) -> int:
        ran.append(clock.slot())
        return 0

    monkeypatch.setattr(orders_worker, "prune_idempotency_keys", prune)
    monkeypatch.setattr(orders_worker, "run_scheduled", functools.partial(leases.run_scheduled, clock=clock))
    settings = SimpleNamespace(idempotency_prune_interval=EVERY)
    apps = [SimpleNamespace(state=SimpleNamespace(settings=settings, db=db)) for db in orders_dbs]
    loops = [asyncio.ensure_future(orders_worker.run_idempotency_pruner(app)) for app in apps]  # type: ignore[arg-type]
    first = clock.slot()
    try:
        await clock.step_through(INTERVALS, replicas=REPLICAS, runs=lambda: len(ran))
    finally:
        for app in apps:
            stop_event(app).set()  # type: ignore[arg-type]
        await asyncio.gather(*loops)
    assert ran == list(range(first, first + INTERVALS))  # at start-up, then once per interval
