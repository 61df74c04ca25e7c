"""The WMS's units of work: all or nothing, on the WMS's own writer thread (a SQLite file) or
through the service's async engine (any other database; an in-memory SQLite stands in here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from service_kit.db import Database
from service_kit.events.outbox import OUTBOX
from service_kit.workers import wakeup_for
from system_apis.wms.backend.statements import warehouses
from system_apis.wms.models import Base
from system_apis.wms.units import Unit, UnitRunner


@pytest.fixture(params=["file", "memory"])
async def runner(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[UnitRunner]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wms.db'}" if request.param == "file" else "sqlite+aiosqlite://"
    db = Database(url, metadata=[Base.metadata])
    await db.create_schema()
    units = UnitRunner(db=db)
    assert (units.engine is db.engine.sync_engine) == (request.param == "memory")
    try:
        yield units
    finally:
        await units.close()
        await db.dispose()


def add_warehouse(unit: Unit) -> None:
    unit.conn.execute(insert(warehouses).values(whse_id="WH09", whse_name="Test DC", site_code="TST"))


def count_warehouses(unit: Unit) -> int:
    return int(unit.conn.execute(select(func.count()).select_from(warehouses)).scalar_one())


async def test_a_unit_that_raises_keeps_nothing_it_wrote(runner: UnitRunner) -> None:
    def add_then_fail(unit: Unit) -> None:
        add_warehouse(unit)
        raise LookupError("refused after writing")

    with pytest.raises(LookupError):
        await runner.run(add_then_fail)
    assert await runner.run(count_warehouses) == 0
    await runner.run(add_warehouse)
    assert await runner.run(count_warehouses) == 1


async def test_the_relay_is_woken_only_after_a_unit_that_announced_commits(runner: UnitRunner) -> None:
    wakeup = wakeup_for(db=runner.db, topic=OUTBOX)

    def announce_then_fail(unit: Unit) -> None:
        unit.announced = True
        raise LookupError("rolled back")

    since = wakeup.mark()
    await runner.run(count_warehouses)
    with pytest.raises(LookupError):
        await runner.run(announce_then_fail)
    assert not await wakeup.wait(since=since, seconds=0)

    def announce(unit: Unit) -> None:
        unit.announced = True

    await runner.run(announce)
    assert await wakeup.wait(since=since, seconds=0)
