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


def add_named_warehouse(unit: Unit, code: str) -> None:
    unit.conn.execute(insert(warehouses).values(whse_id=f"WH-{code}", whse_name=code, site_code=code))


def site_codes(unit: Unit) -> list[str]:
    return sorted(unit.conn.execute(select(warehouses.c.site_code)).scalars())


async def test_an_entry_that_raises_keeps_nothing_it_wrote_and_the_others_stay(runner: UnitRunner) -> None:
    def batch(unit: Unit) -> list[str]:
        outcomes = []
        for code in ("ONE", "BAD", "TWO"):

            def work(code: str = code) -> None:
                add_named_warehouse(unit, code)
                if code == "BAD":
                    raise LookupError("refused after writing")

            try:
                unit.entry(work)
                outcomes.append("done")
            except LookupError:
                outcomes.append("refused")
        return outcomes

    assert await runner.run(batch) == ["done", "refused", "done"]
    assert await runner.run(site_codes) == ["ONE", "TWO"]


async def test_a_unit_that_raises_after_its_entries_keeps_none_of_them(tmp_path: Path) -> None:
    """The first SAVEPOINT must not open the transaction (nor its RELEASE commit it): the driver's
    own transaction handling would do both (SQLite's file runs on the WMS's writer, which begins
    with BEGIN; an in-memory SQLite through the async engine keeps the driver's handling, so this
    runs on a file)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'wms.db'}", metadata=[Base.metadata])
    await db.create_schema()
    units = UnitRunner(db=db)
    try:

        def entries_then_fail(unit: Unit) -> None:
            unit.entry(lambda: add_named_warehouse(unit, "ONE"))
            unit.entry(lambda: add_named_warehouse(unit, "TWO"))
            raise LookupError("the batch failed after its entries")

        with pytest.raises(LookupError):
            await units.run(entries_then_fail)
        assert await units.run(site_codes) == []
    finally:
        await units.close()
        await db.dispose()
