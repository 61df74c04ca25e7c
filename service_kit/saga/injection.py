"""Injection points for crash tests, as PostgreSQL's (``src/backend/utils/misc/injection_point.c``):
a named place in a saga where this process stops itself (SIGSTOP) the first time it gets there,
so a test that watches the process (``/proc/<pid>/stat`` says ``T``) can SIGKILL it exactly there
instead of racing a window of milliseconds with signals of its own.

Armed only by a service's ``injection_point`` setting (e.g. ``INTERCHANGE_ORDERS_INJECTION_POINT``),
empty by default. Hand-written: no maintained library injects a stop at a named place of an
asyncio service.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

import structlog

log = structlog.get_logger("service_kit.saga.injection")


def stop_once(point: str) -> Callable[[], None]:
    """A hook that stops this process the first time it is called (later calls do nothing: a
    process continued by SIGCONT goes on as if nothing happened)."""
    fired = False

    def reached() -> None:
        nonlocal fired
        if not fired:
            fired = True
            log.warning("injection_point_reached", point=point, pid=os.getpid())
            os.kill(os.getpid(), signal.SIGSTOP)

    return reached


def never() -> None:
    """The hook of a point that is not armed."""


def hook_for(armed: str, point: str) -> Callable[[], None]:
    """``point``'s hook: stops the process when ``armed`` names it, else does nothing."""
    return stop_once(point) if armed == point else never


__all__ = ["hook_for", "never", "stop_once"]
