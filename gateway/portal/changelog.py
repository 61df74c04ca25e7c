"""What changed from one major version of an API to the next, for the portal's changelog.

Made by the breaking-change gate's own comparison (``interchange.compat.breaking_changes``), run on
the two versions with their ``/<vN>`` prefix taken off the paths (``catalog.portal_spec``), so that
the same path in both versions is compared as one:

- old -> new: every change that breaks a client of the old version (why the new one is a new
  major version);
- new -> old: what the gate would call a removal going back is an addition going forward (a new
  path, operation, response field, media type or enum value); the gate's other kinds, read
  backwards, are relaxations and are not listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from gateway.portal.catalog import ApiVersion

#: The gate's removals, read from the new version back to the old one, as additions.
_ADDED = {
    "removed path": "new path",
    "removed operation": "new operation",
    "removed response": "new response",
    "removed response field": "new response field",
    "removed request field": "new request field",
    "removed media type": "new media type",
    "removed enum value": "new enum value",
}


@dataclass(frozen=True)
class Entry:
    kind: str
    where: str
    detail: str


@dataclass(frozen=True)
class Changelog:
    api: str
    old: str
    new: str
    breaking: tuple[Entry, ...]
    added: tuple[Entry, ...]


def changelog(*, old: ApiVersion, new: ApiVersion) -> Changelog:
    # The gateway imports the CLI's gate only here, when a changelog is first shown.
    from interchange.compat import breaking_changes

    breaking = tuple(Entry(c.kind, c.where, c.detail) for c in breaking_changes(old.spec, new.spec))
    added = tuple(
        Entry(_ADDED[c.kind], c.where, _forward(c.detail))
        for c in breaking_changes(new.spec, old.spec)
        if c.kind in _ADDED
    )
    return Changelog(api=new.api, old=old.version, new=new.version, breaking=breaking, added=added)


def _forward(detail: str) -> str:
    """A removal's wording, turned around."""
    return (
        detail.replace("path removed", "path added")
        .replace("operation removed", "operation added")
        .replace("success response removed", "success response added")
        .replace("response header removed", "response header added")
        .replace("response field removed", "response field added")
        .replace("no longer always present", "now always present")
        .replace("no longer sent", "now sent")
        .replace("no longer accepted (unknown fields refused)", "now accepted")
        .replace("no longer accepted", "now accepted")
        .replace("removed", "added")
    )


def changelogs(versions: list[ApiVersion]) -> list[Changelog]:
    """One changelog per pair of consecutive versions of one API, newest first (``versions`` newest first)."""
    return [changelog(old=older, new=newer) for newer, older in pairwise(versions)]


__all__ = ["Changelog", "Entry", "changelog", "changelogs"]
