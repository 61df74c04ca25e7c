"""The WMS as the orders process sees it: stock positions (to plan a split), reservations by
reference, release to the floor for picking, cancelling picking, and giving stock back.
Reservations and pick releases also go in batches (``reserve_many``, ``release_many_for_picking``:
the saga's ``flows.wms_batches``), each entry answered on its own."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from contracts import InventoryPosition, Reservation, ReservationCreate
from contracts.common import CanonicalModel
from process_apis.orders.clients.base import (
    INSUFFICIENT_STOCK,
    PICKING_TOO_LATE,
    BaseClient,
    InsufficientStock,
    PickingTooLate,
    Refused,
    is_refusal,
    path_part,
    problem_errors,
    problem_of,
    read_body,
    refused,
    unexpected,
)
from service_kit.errors import UpstreamUnavailable

#: The WMS's published limit of entries per batch call.
MAX_WMS_BATCH = 100


class _Stock(CanonicalModel):
    items: list[InventoryPosition]


class _Reservations(CanonicalModel):
    items: list[Reservation]


class _EntryProblem(CanonicalModel):
    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    errors: list[dict[str, Any]] = []


class _ReservationEntry(CanonicalModel):
    reference: str
    outcome: str  # created, existing, refused, conflict (a newer WMS may add outcomes: never a reservation)
    reservation: Reservation | None = None
    problem: _EntryProblem | None = None


class _ReservationBatch(CanonicalModel):
    results: list[_ReservationEntry]


class _PickReleaseEntry(CanonicalModel):
    reservation_id: str
    outcome: str  # released, unchanged, refused
    reservation: Reservation | None = None
    problem: _EntryProblem | None = None


class _PickReleaseBatch(CanonicalModel):
    results: list[_PickReleaseEntry]


#: One entry's outcome in a batch: its reservation, or why not (``Refused``, ``UpstreamUnavailable``).
Answer = Reservation | Exception


def _refusal(problem: _EntryProblem | None, *, lines: Sequence[str], what: str) -> Refused:
    """A refused entry as the single call's refusal: ``InsufficientStock`` naming the short SKUs."""
    detail = (problem.detail if problem else None) or f"the wms service refused to {what}"
    errors = problem.errors if problem else []
    if problem is not None and problem.type == INSUFFICIENT_STOCK:
        return InsufficientStock(detail, skus=short_skus(errors, lines=lines), errors=errors)
    return Refused("wms", detail, errors=errors, kind=problem.type if problem else None)


def _not_done(problem: _EntryProblem | None, outcome: str, what: str) -> UpstreamUnavailable:
    """A conflict (another request at it right now) or an outcome this service does not know:
    a technical failure, retried later, never a rejection."""
    detail = problem.detail if problem and problem.detail else f"the WMS answered {outcome}"
    return UpstreamUnavailable(f"The wms service answered {outcome} to this {what} in a batch: {detail}")


_SKU_IN_TEXT = re.compile(r"[A-Z0-9][A-Z0-9._\-]*")
_LINE_POINTER = re.compile(r"^#?/lines/(\d+)")


def short_skus(errors: list[dict[str, Any]], *, lines: Sequence[str]) -> list[str]:
    """The SKUs an insufficient-stock problem names: an ``sku`` member, a ``#/lines/N`` pointer,
    or an order SKU mentioned in the detail, whichever the WMS gives."""
    found: list[str] = []
    for error in errors:
        sku = error.get("sku")
        pointer = _LINE_POINTER.match(str(error.get("pointer", "")))
        if not sku and pointer and int(pointer.group(1)) < len(lines):
            sku = lines[int(pointer.group(1))]
        if not sku:
            mentioned = set(_SKU_IN_TEXT.findall(str(error.get("detail", ""))))
            sku = next((s for s in lines if s in mentioned), None)
        if sku and sku not in found:
            found.append(str(sku))
    return found


class WmsClient(BaseClient):
    system = "wms"

    async def stock(self, skus: Sequence[str]) -> list[InventoryPosition]:
        resp = await self._api.get("/v1/stock", **self._call(params={"sku": sorted(set(skus))}))
        if resp.status_code != 200:
            raise unexpected(self.system, "a stock lookup", resp)
        return read_body(_Stock, resp, system=self.system).items

    async def find_reservations(self, reference: str) -> list[Reservation]:
        resp = await self._api.get("/v1/reservations", **self._call(params={"reference": reference}))
        if resp.status_code != 200:
            raise unexpected(self.system, "a reservation lookup", resp)
        return read_body(_Reservations, resp, system=self.system).items

    async def reserve(self, reservation: ReservationCreate) -> Reservation:
        """201 reserves; 200 is the active reservation already held for the same reference."""
        resp = await self._api.post(
            "/v1/reservations",
            **self._call(
                json=reservation.model_dump(mode="json"),
                idempotency_key=f"orders:{reservation.reference}:reservation",
            ),
        )
        if resp.status_code in (200, 201):
            return read_body(Reservation, resp, system=self.system)
        problem = problem_of(resp)
        if resp.status_code == 422 and problem.get("type") == INSUFFICIENT_STOCK:
            errors = problem_errors(problem)
            skus = short_skus(errors, lines=[line.sku for line in reservation.lines])
            raise InsufficientStock(str(problem.get("detail") or "insufficient stock"), skus=skus, errors=errors)
        if is_refusal(resp):
            raise refused(self.system, "reserve stock", resp)
        raise unexpected(self.system, "a reservation", resp)

    async def reserve_many(self, reservations: Sequence[ReservationCreate]) -> dict[str, Answer]:
        """Many reservations in one call, each on its own: by reference, the reservation (made now
        or held before: the call is safe to send again), an ``InsufficientStock``/``Refused`` with
        the WMS's reason, or an ``UpstreamUnavailable`` (a conflict: retried later)."""
        lines = {r.reference: [line.sku for line in r.lines] for r in reservations}

        def answers(sent: Sequence[ReservationCreate], resp: Any) -> dict[str, Answer]:
            found: dict[str, Answer] = {}
            for entry in read_body(_ReservationBatch, resp, system=self.system).results:
                if entry.outcome in ("created", "existing") and entry.reservation is not None:
                    found[entry.reference] = entry.reservation
                elif entry.outcome == "refused":
                    found[entry.reference] = _refusal(
                        entry.problem, lines=lines.get(entry.reference, []), what="reserve stock"
                    )
                else:
                    found[entry.reference] = _not_done(entry.problem, entry.outcome, "reservation")
            return found

        return await self._batch(
            "/v1/reservation-batches",
            reservations,
            body=lambda entries: {"entries": [r.model_dump(mode="json") for r in entries]},
            answers=answers,
            key=lambda r: r.reference,
            action="reserve stock",
            kind="a reserve stock batch",
        )

    async def release_many_for_picking(self, reservation_ids: Sequence[str]) -> dict[str, Answer]:
        """Many reservations to the floor in one call, each on its own: by reservation id, the
        reservation (sent now or already there), or a ``Refused`` (unknown, or released)."""

        def answers(sent: Sequence[str], resp: Any) -> dict[str, Answer]:
            found: dict[str, Answer] = {}
            for entry in read_body(_PickReleaseBatch, resp, system=self.system).results:
                if entry.outcome in ("released", "unchanged") and entry.reservation is not None:
                    found[entry.reservation_id] = entry.reservation
                elif entry.outcome == "refused":
                    what = "release the reservation for picking"
                    found[entry.reservation_id] = _refusal(entry.problem, lines=[], what=what)
                else:
                    found[entry.reservation_id] = _not_done(entry.problem, entry.outcome, "pick release")
            return found

        return await self._batch(
            "/v1/pick-release-batches",
            reservation_ids,
            body=lambda ids: {"entries": [{"reservation_id": i} for i in ids]},
            answers=answers,
            key=lambda i: i,
            action="pick release",
            kind="a pick release batch",
        )

    async def release(self, reservation_id: str) -> Reservation:
        resp = await self._api.post(
            f"/v1/reservations/{path_part(reservation_id)}/release",
            **self._call(idempotency_key=f"orders:{reservation_id}:release"),
        )
        if resp.status_code == 200:
            return read_body(Reservation, resp, system=self.system)
        if resp.status_code == 404 or is_refusal(resp):
            raise refused(self.system, "release the reservation", resp)
        raise unexpected(self.system, "a reservation release", resp)

    async def release_for_picking(self, reservation_id: str) -> Reservation:
        resp = await self._api.post(
            f"/v1/reservations/{path_part(reservation_id)}/pick-release",
            **self._call(idempotency_key=f"orders:{reservation_id}:pick-release"),
        )
        if resp.status_code == 200:
            return read_body(Reservation, resp, system=self.system)
        if resp.status_code == 404 or is_refusal(resp):
            raise refused(self.system, "release the reservation for picking", resp)
        raise unexpected(self.system, "a pick release", resp)

    async def cancel_picking(self, reservation_id: str) -> Reservation:
        resp = await self._api.post(
            f"/v1/reservations/{path_part(reservation_id)}/cancel-picking",
            **self._call(idempotency_key=f"orders:{reservation_id}:cancel-picking"),
        )
        if resp.status_code == 200:
            return read_body(Reservation, resp, system=self.system)
        problem = problem_of(resp)
        if resp.status_code == 422 and problem.get("type") == PICKING_TOO_LATE:
            raise PickingTooLate(str(problem.get("detail") or "the goods are already picked"))
        if resp.status_code == 404 or is_refusal(resp):
            raise refused(self.system, "cancel picking", resp)
        raise unexpected(self.system, "a picking cancellation", resp)


__all__ = ["MAX_WMS_BATCH", "WmsClient", "short_skus"]
