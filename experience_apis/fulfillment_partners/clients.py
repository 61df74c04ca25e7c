"""The process APIs this service calls (over HTTP, with its own token and the partner's identity
forward): the fulfilment process (requests, shipments, return receipts) and the inventory process
(stock snapshots). Answers come back as canonical objects or as this service's errors:

    2xx                 -> the canonical object
    404                 -> None: not the partner's, or no such request / shipment / return
    409, 422            -> Conflict / BusinessRuleViolation / UnprocessableContent, canonical pointers
    any other 4xx       -> UpstreamUnavailable: our request or credentials were refused, which the
                           partner cannot fix
    5xx, unreachable    -> UpstreamUnavailable / UpstreamTimeout (raised by the kit's client)
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar
from urllib.parse import quote

import httpx

from contracts import (
    FulfillmentRequest,
    FulfillmentRequestStatus,
    ReturnReceiptCreate,
    ReturnStatus,
    Shipment,
    ShipmentCreate,
    ShipmentStatus,
)
from contracts.common import CanonicalModel
from service_kit.answers import parse_answer, refusal
from service_kit.http import Upstream

# A 409 with Retry-After: the fulfilment API is still taking in the same request (same key).
M = TypeVar("M", bound=CanonicalModel)

#: The fulfilment process's request ids are at most this long (this dialect published 64).
REQUEST_ID_MAX = 40

_STILL_TAKING_IN = "This notice is still being taken in; send it again in a moment."


class ShipmentAccepted(CanonicalModel):
    shipment_id: str
    status: ShipmentStatus
    status_url: str | None = None


class ReceiptAccepted(CanonicalModel):
    return_id: str | None = None
    status: ReturnStatus = ReturnStatus.received


class _Requests(CanonicalModel):
    items: list[FulfillmentRequest]
    next_offset: int | None = None


class StockDriftLine(CanonicalModel):
    sku: str
    counted: int
    wms_on_hand: int
    drift: int


class PartnerStockReport(CanonicalModel):
    """The inventory process's answer to ``POST /v1/partner-stock-snapshots``."""

    partner_id: str
    warehouse: str
    counted_at: datetime
    checked_at: datetime
    items: list[StockDriftLine]
    drifted: int
    uncounted: list[str]


def _path(value: str) -> str:
    return quote(value, safe="")


class FulfillmentApi:
    def __init__(self, upstream: Upstream) -> None:
        self._fulfillment = upstream

    async def list_requests(
        self, *, partner_id: str, status: FulfillmentRequestStatus | None, limit: int, offset: int
    ) -> tuple[list[FulfillmentRequest], int | None]:
        """One page of the partner's requests, and the offset of the next (None: no more)."""
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if status is not None:
            params["status"] = status.value
        resp = await self._fulfillment.get("/v1/fulfillment-requests", params=params, partner_id=partner_id)
        if resp.status_code == 200:
            page = parse_answer(_Requests, resp, upstream="fulfillment")
            return page.items, page.next_offset
        raise refusal(resp, upstream="fulfillment", still_taking_in=_STILL_TAKING_IN)

    async def get_request(self, *, request_id: str, partner_id: str) -> FulfillmentRequest | None:
        if len(request_id) > REQUEST_ID_MAX:  # no request has such an id (the process API refuses it as a path)
            return None
        resp = await self._fulfillment.get(f"/v1/fulfillment-requests/{_path(request_id)}", partner_id=partner_id)
        return self._found(FulfillmentRequest, resp)

    async def confirm_shipment(
        self, *, shipment: ShipmentCreate, request_id: str, partner_id: str, idempotency_key: str
    ) -> ShipmentAccepted | None:
        body = {**shipment.model_dump(mode="json", exclude_none=True), "request_id": request_id}
        resp = await self._fulfillment.post(
            "/v1/shipments", json=body, partner_id=partner_id, idempotency_key=idempotency_key
        )
        if resp.status_code in (200, 201, 202):
            return parse_answer(ShipmentAccepted, resp, upstream="fulfillment")
        if resp.status_code == 404:
            return None
        raise refusal(resp, upstream="fulfillment", still_taking_in=_STILL_TAKING_IN)

    async def get_shipment(self, *, shipment_id: str, partner_id: str) -> Shipment | None:
        resp = await self._fulfillment.get(f"/v1/shipments/{_path(shipment_id)}", partner_id=partner_id)
        return self._found(Shipment, resp)

    async def receive_return(
        self, *, return_id: str, receipt: ReturnReceiptCreate, partner_id: str, idempotency_key: str
    ) -> ReceiptAccepted | None:
        resp = await self._fulfillment.post(
            f"/v1/returns/{_path(return_id)}/receipts",
            json=receipt.model_dump(mode="json", exclude_none=True),
            partner_id=partner_id,
            idempotency_key=idempotency_key,
        )
        if resp.status_code in (200, 201, 202):
            return parse_answer(ReceiptAccepted, resp, upstream="fulfillment")
        if resp.status_code == 404:
            return None
        raise refusal(resp, upstream="fulfillment", still_taking_in=_STILL_TAKING_IN)

    def _found(self, model: type[M], resp: httpx.Response) -> M | None:
        if resp.status_code == 404:
            return None
        if resp.status_code == 200:
            return parse_answer(model, resp, upstream="fulfillment")
        raise refusal(resp, upstream="fulfillment", still_taking_in=_STILL_TAKING_IN)


class InventoryApi:
    def __init__(self, upstream: Upstream) -> None:
        self._inventory = upstream

    async def compare_partner_stock(
        self, *, partner_id: str, warehouse: str, counted_at: datetime, counts: dict[str, int]
    ) -> PartnerStockReport:
        body = {
            "partner_id": partner_id,
            "warehouse": warehouse,
            "counted_at": counted_at.isoformat(),
            "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in counts.items()],
        }
        resp = await self._inventory.post("/v1/partner-stock-snapshots", json=body)
        if resp.status_code == 200:
            return parse_answer(PartnerStockReport, resp, upstream="inventory")
        raise refusal(resp, upstream="inventory", still_taking_in=_STILL_TAKING_IN)


__all__ = ["FulfillmentApi", "InventoryApi", "PartnerStockReport", "ReceiptAccepted", "ShipmentAccepted"]
