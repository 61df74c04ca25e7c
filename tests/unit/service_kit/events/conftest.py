"""One suite, two buses: every test that takes ``bus`` (or ``open_test_bus``) runs against the
embedded SQLite log and against a real Redis server started for the session."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Protocol

import pytest

from service_kit.db import Database
from service_kit.events import EventBus, open_bus
from tests.support.redis_server import redis_server_url
from tests.unit.service_kit.events.event_helpers import MAX_DELIVERIES, LedgerBase


class OpenBus(Protocol):
    def __call__(self, *, lease: float = 30.0, max_deliveries: int = MAX_DELIVERIES) -> EventBus: ...


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server_url(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["sqlite", "redis"])
async def open_test_bus(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenBus]:
    """Opens buses on one shared log (as separate processes would), closing them afterwards."""
    if request.param == "sqlite":
        base = f"sqlite:///{tmp_path / 'events.db'}?poll=0.01"
    else:
        base = f"{request.getfixturevalue('redis_url')}?stream=test:{uuid.uuid4().hex}"
    opened: list[EventBus] = []

    def opener(*, lease: float = 30.0, max_deliveries: int = MAX_DELIVERIES) -> EventBus:
        bus = open_bus(url=f"{base}&lease={lease}&max_deliveries={max_deliveries}")
        opened.append(bus)
        return bus

    yield opener
    for bus in opened:
        await bus.close()


@pytest.fixture
def bus(open_test_bus: OpenBus) -> EventBus:
    return open_test_bus()


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}", metadata=[LedgerBase.metadata])
    await db.create_schema()
    yield db
    await db.dispose()
