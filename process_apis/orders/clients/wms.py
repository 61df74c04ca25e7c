"""The WMS as the orders process sees it: stock positions (to plan a split), reservations by
reference, release to the floor for picking, cancelling picking, and giving stock back."""

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
    is_refusal,
    path_part,
    problem_errors,
    problem_of,
    read_body,
    refused,
    unexpected,
)


class _Stock(CanonicalModel):
    items: list[InventoryPosition]


class _Reservations(CanonicalModel):
    items: list[Reservation]


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


__all__ = ["WmsClient", "short_skus"]
