"""Injection points for crash tests, as PostgreSQL's (``src/backend/utils/misc/injection_point.c``):
a named place in the saga where this process stops itself (SIGSTOP) the first time it gets there,
so a test that watches the process (``/proc/<pid>/stat`` says ``T``) can SIGKILL it exactly there
instead of racing a window of milliseconds with signals of its own.

Armed only by the ``injection_point`` setting (``INTERCHANGE_ORDERS_INJECTION_POINT``), empty by
default: nothing is installed and the saga's code paths are the same. Hand-written: no maintained
library injects a stop at a named place of an asyncio service.

    pivot_batch_answered          the ERP answered a sales-order batch (booked), nothing recorded yet
    reservation_batch_answered    the WMS answered a reservation batch (reserved), nothing recorded yet
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Literal

import structlog
from fastapi import FastAPI

log = structlog.get_logger("process_apis.orders.injection")

InjectionPoint = Literal["", "pivot_batch_answered", "reservation_batch_answered"]

_BATCHERS = {"pivot_batch_answered": "pivot_batcher", "reservation_batch_answered": "reservation_batcher"}


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


def arm_injection_point(app: FastAPI, point: InjectionPoint) -> None:
    """Installs the hook of ``point`` (none when empty) on the batcher it belongs to."""
    if point:
        getattr(app.state, _BATCHERS[point]).answered_hook = stop_once(point)


__all__ = ["InjectionPoint", "arm_injection_point", "stop_once"]
