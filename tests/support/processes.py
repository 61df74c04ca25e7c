"""Helpers for tests of real processes (tests/e2e): poll until something is true, and whether a
service answers ready."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx


def wait_until(check: Callable[[], Any], *, seconds: float, what: str, interval: float = 0.2) -> Any:
    """``check()``'s first truthy answer, polled every ``interval`` seconds; AssertionError naming
    ``what`` after ``seconds`` (a bound on a wait, not a timing claim)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(interval)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


def ready(url: str) -> bool:
    """Whether the service at ``url`` answers 200 at /health/ready."""
    try:
        return httpx.get(f"{url}/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


__all__ = ["ready", "wait_until"]
