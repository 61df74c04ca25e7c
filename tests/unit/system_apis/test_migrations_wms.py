"""The WMS's revision 0002: an allocation's status column fits every status the WMS writes.

Revision 0001 had VARCHAR(12), one short for PICK_RELEASED; SQLite ignores a VARCHAR's length,
PostgreSQL refused the pick release with "value too long". Upgraded from 0001 with an allocation
in it, the column takes every status on both, and the partial unique index (one live allocation a
reference; a deallocated one does not count) survives SQLite's batch-mode table copy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection

from service_kit.db import Database
from service_kit.migrations import upgrade
from system_apis.wms.migrations import HISTORY
from system_apis.wms.models import ALLOCATED, DEALLOCATED, PICK_RELEASED, PICKED, WmsAllocation, WmsWarehouse
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401 - fixtures

pytestmark = pytest.mark.xdist_group("postgres")
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    url = (
        f"sqlite+aiosqlite:///{tmp_path / 'wms.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    database = Database(url)
    yield database
    await database.dispose()


def allocation(alloc_no: int, order_ref: str, status: str) -> dict[str, object]:
    return {"alloc_no": alloc_no, "order_ref": order_ref, "whse_id": "WH01", "alloc_status": status, "created_at": NOW}


def at_0001_with_an_allocation(connection: Connection) -> None:
    upgrade(connection=connection, history=HISTORY, revision="0001")
    warehouses, allocations = WmsWarehouse.__table__, WmsAllocation.__table__
    connection.execute(sa.insert(warehouses).values(whse_id="WH01", whse_name="Amsterdam", site_code="AMS"))
    connection.execute(sa.insert(allocations).values(**allocation(1, "ord-1", DEALLOCATED)))
    connection.commit()


def statuses_after_upgrade(connection: Connection) -> list[str]:
    upgrade(connection=connection, history=HISTORY)
    allocations = WmsAllocation.__table__
    for alloc_no, status in enumerate((ALLOCATED, PICK_RELEASED, PICKED), start=2):
        connection.execute(sa.insert(allocations).values(**allocation(alloc_no, f"ord-{alloc_no}", status)))
    # The deallocated ord-1 does not block a live one; a second live one is refused.
    connection.execute(sa.insert(allocations).values(**allocation(9, "ord-1", PICK_RELEASED)))
    connection.commit()
    with pytest.raises(sa.exc.IntegrityError):
        connection.execute(sa.insert(allocations).values(**allocation(10, "ord-1", ALLOCATED)))
    connection.rollback()
    query = sa.select(allocations.c.alloc_status).order_by(allocations.c.alloc_no)
    return list(connection.execute(query).scalars())


async def test_every_allocation_status_fits_after_upgrading_from_0001(db: Database) -> None:
    async with db.engine.connect() as conn:
        await conn.run_sync(at_0001_with_an_allocation)
    async with db.engine.connect() as conn:
        statuses = await conn.run_sync(statuses_after_upgrade)

    assert statuses == [DEALLOCATED, ALLOCATED, PICK_RELEASED, PICKED, PICK_RELEASED]
