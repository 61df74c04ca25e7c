"""The WMS steps in batches: every order at its ``reserve_stock`` step hands its reservation to one
``ReservationBatcher``, and every order at ``release_to_warehouse`` its reservations to one
``PickReleaseBatcher`` (both ``flows.batches.Batcher``), which post whatever has gathered as one
``reservation-batches`` or ``pick-release-batches`` call (at most 100 entries), then the next.

Crash safety lives at the WMS, as for the pivot: each reservation entry is idempotent by its
reference (the order id), each pick release by its reservation. A worker killed between the post
and recording the answers finds the order still at its step when it comes back; posting the entry
again answers the reservation made the first time ("existing"), or the reservation already on the
floor ("unchanged"): never a second allocation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from contracts import Reservation, ReservationCreate
from process_apis.orders.clients import WmsClient
from process_apis.orders.clients.wms import MAX_WMS_BATCH
from process_apis.orders.flows.batches import Batcher


class ReservationBatcher(Batcher[ReservationCreate, Reservation]):
    def __init__(self, wms: Callable[[str], WmsClient], *, max_batch: int = MAX_WMS_BATCH) -> None:
        """``wms(correlation_id)``: a client acting for no partner (a batch carries many partners'
        orders), under the batch's own correlation id, which the log ties to the orders in it."""

        async def post(correlation_id: str, entries: list[ReservationCreate]) -> Mapping[str, Reservation | Exception]:
            return await wms(correlation_id).reserve_many(entries)

        super().__init__(post, key=lambda entry: entry.reference, max_batch=max_batch, name="reservation", system="WMS")

    async def reserve(self, reservation: ReservationCreate) -> Reservation:
        """The reservation (made now or before); raises ``InsufficientStock``/``Refused`` (this
        entry refused), or the whole call's technical failure (``UpstreamUnavailable``...)."""
        return await self.submit(reservation)


class PickReleaseBatcher(Batcher[str, Reservation]):
    def __init__(self, wms: Callable[[str], WmsClient], *, max_batch: int = MAX_WMS_BATCH) -> None:
        async def post(correlation_id: str, reservation_ids: list[str]) -> Mapping[str, Reservation | Exception]:
            return await wms(correlation_id).release_many_for_picking(reservation_ids)

        super().__init__(post, key=lambda rid: rid, max_batch=max_batch, name="pick_release", system="WMS")

    async def release_for_picking(self, reservation_id: str) -> Reservation:
        """The reservation on the floor; raises ``Refused`` (unknown, or released), or the whole
        call's technical failure."""
        return await self.submit(reservation_id)


__all__ = ["PickReleaseBatcher", "ReservationBatcher"]
