"""Typed calls to the tier below (ERP, WMS, CRM), over ``service_kit``'s ``Upstream``; see
``base`` for how answers map to canonical objects, refusals and technical failures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import FastAPI

from process_apis.orders.clients.base import InsufficientStock, PickingTooLate, Refused, read_body
from process_apis.orders.clients.crm import Activity, ActivityCreate, CrmClient
from process_apis.orders.clients.erp import ErpClient, PriceQuoteResult
from process_apis.orders.clients.wms import WmsClient, short_skus
from service_kit.app import upstream

if TYPE_CHECKING:
    from process_apis.orders.flows.activities import ActivityBatcher
    from process_apis.orders.flows.pivot import PivotBatcher
    from process_apis.orders.flows.wms_batches import PickReleaseBatcher, ReservationBatcher
    from process_apis.orders.masterdata import MasterData


@dataclass(frozen=True)
class OrderClients:
    erp: ErpClient
    wms: WmsClient
    crm: CrmClient
    #: The copy of the ERP's master data (prices, credit), the batching pivot, the batching CRM
    #: activities and the batching WMS reservations and pick releases, shared by the app.
    master: MasterData
    pivot: PivotBatcher
    activities: ActivityBatcher
    reservations: ReservationBatcher
    pick_releases: PickReleaseBatcher


def clients_for(app: FastAPI, *, partner_id: str | None = None, correlation_id: str | None = None) -> OrderClients:
    """Clients acting for ``partner_id``. ``correlation_id`` is for work outside a request (the
    worker): inside one, the kit already sends the request's own id."""
    scope = {"partner_id": partner_id, "correlation_id": correlation_id}
    return OrderClients(
        erp=ErpClient(upstream(app, "erp"), **scope),
        wms=WmsClient(upstream(app, "wms"), **scope),
        crm=CrmClient(upstream(app, "crm"), **scope),
        master=app.state.master_data,
        pivot=app.state.pivot_batcher,
        activities=app.state.activity_batcher,
        reservations=app.state.reservation_batcher,
        pick_releases=app.state.pick_release_batcher,
    )


__all__ = [
    "Activity",
    "ActivityCreate",
    "CrmClient",
    "ErpClient",
    "InsufficientStock",
    "OrderClients",
    "PickingTooLate",
    "PriceQuoteResult",
    "Refused",
    "WmsClient",
    "clients_for",
    "read_body",
    "short_skus",
]
