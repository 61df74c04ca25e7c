"""The fulfilment process API, as this channel calls it (over HTTP, with this service's own token
and the partner's identity forward): the shipments, invoices and returns of the partner's orders.

    2xx on a read or a return   -> canonical objects
    404                         -> None: the fulfilment process knows nothing of the order for this
                                   partner (nothing shipped yet)
    409, 422                    -> Conflict / BusinessRuleViolation / UnprocessableContent, canonical pointers
    any other 4xx, 5xx          -> UpstreamUnavailable (raised here or by the kit's client)
"""

from __future__ import annotations

from urllib.parse import quote

from contracts import Invoice, Return, ReturnCreate, Shipment
from contracts.common import CanonicalModel
from service_kit.answers import parse_answer, refusal
from service_kit.http import Upstream

_STILL_TAKING_IN = "This return is still being taken in; send it again in a moment."


class _Shipments(CanonicalModel):
    items: list[Shipment]


class _Invoices(CanonicalModel):
    items: list[Invoice]


class FulfillmentApi:
    def __init__(self, upstream: Upstream) -> None:
        self._fulfillment = upstream

    async def shipments_of(self, *, order_id: str, partner_id: str) -> list[Shipment] | None:
        resp = await self._fulfillment.get(f"/v1/orders/{quote(order_id, safe='')}/shipments", partner_id=partner_id)
        if resp.status_code == 404:
            return None
        if resp.status_code == 200:
            return parse_answer(_Shipments, resp, upstream="fulfillment").items
        raise refusal(resp, upstream="fulfillment", still_taking_in=_STILL_TAKING_IN)

    async def invoices_of(self, *, order_id: str, partner_id: str) -> list[Invoice] | None:
        resp = await self._fulfillment.get(f"/v1/orders/{quote(order_id, safe='')}/invoices", partner_id=partner_id)
        if resp.status_code == 404:
            return None
        if resp.status_code == 200:
            return parse_answer(_Invoices, resp, upstream="fulfillment").items
        raise refusal(resp, upstream="fulfillment", still_taking_in=_STILL_TAKING_IN)

    async def request_return(self, *, rma: ReturnCreate, partner_id: str, idempotency_key: str) -> Return | None:
        resp = await self._fulfillment.post(
            "/v1/returns",
            json=rma.model_dump(mode="json", exclude_none=True),
            partner_id=partner_id,
            idempotency_key=idempotency_key,
        )
        if resp.status_code in (200, 201, 202):
            return parse_answer(Return, resp, upstream="fulfillment")
        if resp.status_code == 404:
            return None
        raise refusal(resp, upstream="fulfillment", still_taking_in=_STILL_TAKING_IN)


__all__ = ["FulfillmentApi"]
