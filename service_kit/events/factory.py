"""``open_bus``: the event bus the settings name, embedded SQLite log or Redis Streams.

``INTERCHANGE_EVENTS_URL`` (shared by every service) picks it; the default is the embedded log
``sqlite:///<data_dir>/events.db``. Tuning travels in the URL's query, so one setting says it
all: ``lease`` (seconds), ``max_deliveries``, and per adapter ``poll`` and ``synchronous``
(SQLite) or ``stream`` and ``max_length`` (Redis), e.g.
``redis://cache:6379/0?stream=interchange:events&lease=30&max_deliveries=5``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from service_kit.events.port import EventBus


def events_url(*, settings: Any) -> str:
    """The settings' ``events_url``, else the embedded log beside the services' databases."""
    configured = getattr(settings, "events_url", None)
    if configured:
        return str(configured)
    data_dir = Path(getattr(settings, "data_dir", "var"))
    return f"sqlite:///{data_dir / 'events.db'}"


def open_bus(*, settings: Any = None, url: str | None = None) -> EventBus:
    """A bus for ``url`` (or the settings' events URL). Nothing connects until the first call;
    ``await bus.close()`` when done."""
    if url is None:
        if settings is None:
            raise ValueError("open_bus needs settings or a url")
        url = events_url(settings=settings)
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    common: dict[str, Any] = {}
    if "lease" in options:
        common["lease_seconds"] = float(options.pop("lease"))
    if "max_deliveries" in options:
        common["max_deliveries"] = int(options.pop("max_deliveries"))
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        from service_kit.events.sqlite_log import SqliteEventLog

        path = parts.path[1:] if parts.path.startswith("/") else parts.path  # sqlite:///rel, sqlite:////abs
        if not path or path == ":memory:":
            raise ValueError("the embedded event log needs a file: sqlite:///<path>")
        if "poll" in options:
            common["poll_interval"] = float(options.pop("poll"))
        if "synchronous" in options:
            common["synchronous"] = options.pop("synchronous")
        _no_leftovers(options, url)
        return SqliteEventLog(path=path, **common)
    if scheme in {"redis", "rediss", "unix"}:
        from service_kit.events.redis_streams import RedisStreamsBus

        if "stream" in options:
            common["stream"] = options.pop("stream")
        if "max_length" in options:
            common["max_length"] = int(options.pop("max_length"))
        # What is left (db, ssl options...) belongs to redis-py.
        plain = urlunsplit(parts._replace(query=urlencode(options)))
        return RedisStreamsBus(url=plain, **common)
    raise ValueError(f"no event bus for {parts.scheme!r} URLs (use sqlite:///<path> or redis://host:port/db)")


def _no_leftovers(options: dict[str, str], url: str) -> None:
    if options:
        raise ValueError(f"unknown event bus option(s) {sorted(options)} in {url!r}")


__all__ = ["events_url", "open_bus"]
