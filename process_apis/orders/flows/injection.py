"""Injection points for crash tests, as PostgreSQL's (``src/backend/utils/misc/injection_point.c``):
a named place in the saga where this process stops itself (SIGSTOP) the first time it gets there,
so a test that watches the process (``/proc/<pid>/stat`` says ``T``) can SIGKILL it exactly there
instead of racing a window of milliseconds with signals of its own.

Armed only by the ``injection_point`` setting (``INTERCHANGE_ORDERS_INJECTION_POINT``), empty by
default: nothing is installed and the saga's code paths are the same. The hook is the kit's
(``service_kit.saga.injection.stop_once``).

    pivot_batch_answered          the ERP answered a sales-order batch (booked), nothing recorded yet
    reservation_batch_answered    the WMS answered a reservation batch (reserved), nothing recorded yet
"""

from __future__ import annotations

from typing import Literal

from fastapi import FastAPI

from service_kit.saga.injection import stop_once

InjectionPoint = Literal["", "pivot_batch_answered", "reservation_batch_answered"]

_BATCHERS = {"pivot_batch_answered": "pivot_batcher", "reservation_batch_answered": "reservation_batcher"}


def arm_injection_point(app: FastAPI, point: InjectionPoint) -> None:
    """Installs the hook of ``point`` (none when empty) on the batcher it belongs to."""
    if point:
        getattr(app.state, _BATCHERS[point]).answered_hook = stop_once(point)


__all__ = ["InjectionPoint", "arm_injection_point", "stop_once"]
