"""Versions at the edge: a deprecated major version says so on every answer, and after its sunset
it answers 410 without reaching its service.

A contract declares its version's lifecycle at the top level (the keys ``service_kit.openapi``
writes for ``deprecate_version``)::

    x-interchange-deprecated: true
    x-interchange-deprecated-since: '2026-11-23'   Deprecation: @1795392000               (RFC 9745)
    x-interchange-sunset: '2027-06-30'             Sunset: Wed, 30 Jun 2027 00:00:00 GMT  (RFC 8594)
    x-interchange-successor: /marketplace/v2       Link: </marketplace/v2/orders/X>; rel="successor-version"

The same headers, to the byte, as the service sends itself (``Deprecation.headers``); on the way
down the gateway replaces the service's with its own, so an answer carries each once, and its own
refusals (401, 403, 422, 429...) carry them too. Dates are UTC days standing for 00:00:00 UTC:
the sunset is the first instant the version no longer serves (410 Gone from then on).

Without ``x-interchange-deprecated-since`` the deprecation dates from when it was published at the
edge: the first time a gateway on this database loaded the version marked deprecated (kept in
``api_deprecations``, so restarts and workers agree and the date never moves).

Everything but the successor link's path is computed once, at start-up, as bytes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.models import ApiDeprecation
from service_kit.db import Database

Header = tuple[bytes, bytes]

#: Headers of the service's answer that the gateway's own replace on a deprecated version.
REPLACED_DOWN = frozenset({b"deprecation", b"sunset"})
_SUCCESSOR_REL = b"successor-version"


class LifecycleError(ValueError):
    """A lifecycle key the gateway cannot read; it does not start with it."""


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """What a contract says about its version's end."""

    deprecated: bool
    since: date | None
    sunset: date | None
    successor: str | None

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Lifecycle | None:
        deprecated = spec.get("x-interchange-deprecated", False)
        if not isinstance(deprecated, bool):
            raise LifecycleError("x-interchange-deprecated must be true or false")
        since = _day(spec, "x-interchange-deprecated-since")
        sunset = _day(spec, "x-interchange-sunset")
        successor = spec.get("x-interchange-successor")
        if successor is not None and (not isinstance(successor, str) or not successor.startswith("/")):
            raise LifecycleError("x-interchange-successor must be a path such as /marketplace/v2")
        if not deprecated and since is None and sunset is None and successor is None:
            return None
        return cls(deprecated=deprecated, since=since, sunset=sunset, successor=successor)


@dataclass(frozen=True, slots=True)
class VersionHeaders:
    """The lifecycle of one routed version, ready for the hot path."""

    #: ``Deprecation`` and ``Sunset``, as sent.
    fixed: tuple[Header, ...]
    #: ``</marketplace/v2`` (the successor's path goes after it), or empty.
    successor: bytes
    #: The first instant (seconds since the epoch) the version answers 410; ``None``: never.
    sunset_at: float | None

    def headers(self, rest: str) -> list[Header]:
        """The headers for a call to ``<version><rest>``, e.g. rest ``/orders/X``."""
        if not self.successor:
            return list(self.fixed)
        link = self.successor + quote(rest, safe="/").encode("ascii") + b'>; rel="successor-version"'
        return [*self.fixed, (b"link", link)]

    def gone(self, now: float | None = None) -> bool:
        return self.sunset_at is not None and (time.time() if now is None else now) >= self.sunset_at


def version_headers(lifecycle: Lifecycle, *, deprecated_since: datetime | None = None) -> VersionHeaders:
    """``deprecated_since`` stands in for a contract that gives no date (see the module doc)."""
    fixed: list[Header] = []
    if lifecycle.deprecated:
        since = _midnight(lifecycle.since) if lifecycle.since else deprecated_since
        if since is None:
            raise LifecycleError("a deprecated version needs x-interchange-deprecated-since or a recorded date")
        fixed.append((b"deprecation", b"@%d" % int(since.timestamp())))
    sunset_at = None
    if lifecycle.sunset is not None:
        moment = _midnight(lifecycle.sunset)
        fixed.append((b"sunset", format_datetime(moment, usegmt=True).encode("ascii")))
        sunset_at = moment.timestamp()
    successor = b"<" + lifecycle.successor.rstrip("/").encode("ascii") if lifecycle.successor else b""
    return VersionHeaders(fixed=tuple(fixed), successor=successor, sunset_at=sunset_at)


def replaced_down(name: bytes, value: bytes) -> bool:
    """Whether a header of the service's answer gives way to the gateway's on a deprecated version."""
    return name in REPLACED_DOWN or (name == b"link" and _SUCCESSOR_REL in value)


async def deprecation_dates(
    db: Database, versions: Iterable[tuple[str, str]], *, now: datetime | None = None
) -> dict[tuple[str, str], datetime]:
    """When each ``(api, version)`` was first seen deprecated; recorded now if it never was."""
    wanted = set(versions)
    if not wanted:
        return {}
    now = now or datetime.now(UTC)
    for api, version in sorted(wanted):
        try:
            async with db.transaction() as session:
                if await session.get(ApiDeprecation, (api, version)) is None:
                    session.add(ApiDeprecation(api=api, version=version, first_seen=now))
        except IntegrityError:
            pass  # another worker recorded it first; theirs stands
    async with db.transaction() as session:
        rows = (await session.execute(select(ApiDeprecation))).scalars()
        found = {(r.api, r.version): _aware(r.first_seen) for r in rows}
    return {key: found[key] for key in wanted}


def _day(spec: Mapping[str, Any], key: str) -> date | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, date):  # YAML reads an unquoted 2027-06-30 as a date
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise LifecycleError(f"{key} must be a date, YYYY-MM-DD, not {value!r}") from exc


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


__all__ = [
    "Lifecycle",
    "LifecycleError",
    "VersionHeaders",
    "deprecation_dates",
    "replaced_down",
    "version_headers",
]
