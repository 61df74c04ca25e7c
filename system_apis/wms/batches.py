"""Reserving stock and releasing reservations for picking in batches, as real WMSs offer it (SAP
EWM's and Manhattan's wave and mass operations): each entry is done once per reference (or per
reservation) and on its own, so a refused entry fails only itself.

A batch is one unit of work (``system_apis.wms.units``) on the WMS's one writer: one hand-off and
one transaction for the whole batch, and each entry in a SAVEPOINT of its own (``Unit.entry``), so
an entry that raises (insufficient stock, a unit the WMS does not reserve in, a reference being
reserved right now) leaves none of its writes, while the entries before and after it stay. Each
entry gets the outcome the single operation would give it. Sending a batch again answers each
entry as it stands: a reference that holds an active reservation answers it (``existing``), a
reservation already on the floor answers as it is (``unchanged``): never a second allocation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TypeVar

from contracts import ReservationCreate
from service_kit.errors import InterchangeError
from system_apis.wms import service
from system_apis.wms.schemas import (
    EntryProblem,
    PickReleaseBatchEntry,
    PickReleaseOutcome,
    ReservationBatchEntry,
    ReservationOutcome,
)
from system_apis.wms.service import StoreFor
from system_apis.wms.units import Unit, UnitRunner

T = TypeVar("T")


def _problem(error: InterchangeError) -> EntryProblem:
    return EntryProblem(
        type=error.type, title=error.title, status=error.status, detail=error.detail, errors=error.errors or []
    )


def _each(unit: Unit, work: Callable[[], T]) -> T | InterchangeError:
    """One entry in its savepoint: its result, or the domain error it raised (its writes undone)."""
    try:
        return unit.entry(work)
    except InterchangeError as error:
        return error


async def reserve_stock(
    *, units: UnitRunner, store: StoreFor, entries: Sequence[ReservationCreate]
) -> list[ReservationBatchEntry]:
    """One result per entry, in order: reserved now (``created``), the reference's active
    reservation (``existing``), ``refused`` (422: insufficient stock names the short SKUs) or
    ``conflict`` (409: another request is reserving for the reference right now)."""

    def batch(unit: Unit) -> list[ReservationBatchEntry]:
        results = []
        for entry in entries:
            # A store per entry: a store remembers what it read (warehouses, reservations), which the
            # next entry must read afresh (a rolled-back entry may have changed it).
            done = _each(unit, partial(service.reserve, store=store(unit), request=entry))
            if isinstance(done, InterchangeError):
                outcome = ReservationOutcome.conflict if done.status == 409 else ReservationOutcome.refused
                results.append(
                    ReservationBatchEntry(reference=entry.reference, outcome=outcome, problem=_problem(done))
                )
                continue
            reservation, created = done
            outcome = ReservationOutcome.created if created else ReservationOutcome.existing
            results.append(ReservationBatchEntry(reference=entry.reference, outcome=outcome, reservation=reservation))
        return results

    return await units.run(batch)


async def release_for_picking(
    *, units: UnitRunner, store: StoreFor, reservation_ids: Sequence[str]
) -> list[PickReleaseBatchEntry]:
    """One result per entry, in order: sent to the floor now (``released``), already there
    (``unchanged``), or ``refused`` (404: no such reservation; 422: released, nothing to pick)."""

    def batch(unit: Unit) -> list[PickReleaseBatchEntry]:
        results = []
        for reservation_id in reservation_ids:
            done = _each(unit, partial(service.pick_release, store=store(unit), reservation_id=reservation_id))
            if isinstance(done, InterchangeError):
                results.append(
                    PickReleaseBatchEntry(
                        reservation_id=reservation_id, outcome=PickReleaseOutcome.refused, problem=_problem(done)
                    )
                )
                continue
            reservation, moved = done
            outcome = PickReleaseOutcome.released if moved else PickReleaseOutcome.unchanged
            results.append(
                PickReleaseBatchEntry(reservation_id=reservation_id, outcome=outcome, reservation=reservation)
            )
        return results

    return await units.run(batch)


__all__ = ["release_for_picking", "reserve_stock"]
