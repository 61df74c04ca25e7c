"""``open_bus``: the adapter and its tuning come from one URL setting; nothing opens early."""

from __future__ import annotations

from pathlib import Path

import pytest

from service_kit.events import EventBus, events_url, open_bus
from service_kit.events.redis_streams import RedisStreamsBus
from service_kit.events.sqlite_log import SqliteEventLog
from service_kit.settings import ServiceSettings


class EventSettings(ServiceSettings):
    events_url: str = ""


def test_the_default_is_the_embedded_log_beside_the_service_databases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INTERCHANGE_DATA_DIR", raising=False)
    monkeypatch.delenv("INTERCHANGE_EVENTS_URL", raising=False)
    assert events_url(settings=ServiceSettings.load("inventory")) == "sqlite:///var/events.db"
    assert (
        events_url(settings=ServiceSettings.load("inventory", data_dir=tmp_path)) == f"sqlite:///{tmp_path}/events.db"
    )
    configured = EventSettings.load("inventory", events_url="redis://cache:6379/1")
    assert events_url(settings=configured) == "redis://cache:6379/1"


def test_the_events_url_setting_is_shared_by_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERCHANGE_EVENTS_URL", "redis://cache:6379/0")
    assert events_url(settings=EventSettings.load("orders")) == "redis://cache:6379/0"
    assert events_url(settings=EventSettings.load("inventory")) == "redis://cache:6379/0"


async def test_sqlite_urls_relative_absolute_and_tuned(tmp_path: Path) -> None:
    relative = open_bus(url="sqlite:///var/events.db")
    assert isinstance(relative, SqliteEventLog) and relative.path == Path("var/events.db")
    tuned = open_bus(url=f"sqlite:///{tmp_path}/e.db?lease=2.5&max_deliveries=7&poll=0.2&synchronous=normal")
    assert isinstance(tuned, SqliteEventLog) and tuned.path == tmp_path / "e.db"
    assert (tuned.lease_seconds, tuned.max_deliveries, tuned.poll_interval) == (2.5, 7, 0.2)
    assert isinstance(tuned, EventBus)
    await tuned.close()
    assert not (tmp_path / "e.db").exists()  # nothing touched the disk before the first call


async def test_redis_urls_keep_their_own_options_and_pass_the_rest_to_redis_py() -> None:
    bus = open_bus(url="redis://127.0.0.1:1/2?stream=ic:ev&lease=10&max_deliveries=4&max_length=1000")
    assert isinstance(bus, RedisStreamsBus)
    assert (bus.stream, bus.lease_seconds, bus.max_deliveries, bus.max_length) == ("ic:ev", 10.0, 4, 1000)
    assert isinstance(bus, EventBus)
    await bus.close()


@pytest.mark.parametrize(
    "url",
    ["kafka://broker:9092", "sqlite://", "sqlite:///:memory:", "sqlite:///var/e.db?colour=blue"],
)
def test_urls_it_cannot_serve_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        open_bus(url=url)
