"""The orders process API, as this channel calls it (over HTTP, with this service's own token and
the partner's identity forward).

Answers come back as canonical objects or as this service's errors, still in canonical terms (the
service translates them to the dialect):

    202 on submit        -> OrderAccepted
    404 on read          -> None (not the partner's, or no such order)
    409                  -> Conflict (the same order is still being taken in, or conflicts)
    422                  -> BusinessRuleViolation / UnprocessableContent, with canonical pointers
    any other 4xx        -> UpstreamUnavailable: our request or credentials were refused, which the
                            partner cannot fix
    5xx, unreachable     -> UpstreamUnavailable / UpstreamTimeout (raised by the kit's client)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from contracts import Order, OrderAccepted, OrderCreate
from experience_apis.marketplace.order_batches import OrderBatches
from service_kit.answers import parse_answer, refusal
from service_kit.app import upstream
from service_kit.http import Upstream

# A 409 with Retry-After: the orders API is still taking in the same order (same Idempotency-Key).
_STILL_TAKING_IN = "This marketplace order is still being taken in; send it again in a moment."


class OrdersApi:
    """``batches``: orders are handed over in batches (``order_batches``); without it, one call each."""

    def __init__(self, upstream: Upstream, *, batches: OrderBatches | None = None) -> None:
        self._orders = upstream
        self._batches = batches

    async def submit_order(self, *, order: OrderCreate, partner_id: str, idempotency_key: str) -> OrderAccepted:
        async def alone() -> OrderAccepted:
            resp = await self._orders.post(
                "/v1/orders",
                json=order.model_dump(mode="json", exclude_none=True),
                partner_id=partner_id,
                idempotency_key=idempotency_key,
            )
            return read_submitted(resp)

        if self._batches is None:
            return await alone()
        return await self._batches.submit(
            order=order, partner_id=partner_id, idempotency_key=idempotency_key, alone=alone
        )

    async def get_order(self, *, order_id: str, partner_id: str) -> Order | None:
        resp = await self._orders.get(f"/v1/orders/{quote(order_id, safe='')}", partner_id=partner_id)
        if resp.status_code == 404:
            return None
        if resp.status_code == 200:
            return parse_answer(Order, resp, upstream="orders")
        raise refusal(resp, upstream="orders", still_taking_in=_STILL_TAKING_IN)


def read_submitted(resp: httpx.Response) -> OrderAccepted:
    """The answer to an order handed over (on its own or as a batch's entry)."""
    if resp.status_code in (200, 201, 202):
        return parse_answer(OrderAccepted, resp, upstream="orders")
    raise refusal(resp, upstream="orders", still_taking_in=_STILL_TAKING_IN)


def order_batches_of(app: Any) -> OrderBatches:
    """The app's batcher of orders handed over, made on first use (one per process)."""
    batches: OrderBatches | None = getattr(app.state, "order_batches", None)
    if batches is None:
        batches = app.state.order_batches = OrderBatches(upstream(app, "orders"), read_answer=read_submitted)
    return batches


__all__ = ["OrdersApi", "order_batches_of", "read_submitted"]
