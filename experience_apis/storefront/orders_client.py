"""The orders process API, as the storefront channel calls it (over HTTP, this service's own
token, the shop's partner forward): submit an order, cancel one.

    202 on submit / cancel -> OrderAccepted / True
    409 on cancel          -> False: too late (shipped) or nothing to cancel; the order shows why
    409 with Retry-After   -> Conflict: the same request is still being taken in; the storefront
                              retries the delivery
    422                    -> BusinessRuleViolation / UnprocessableContent with canonical pointers
    any other 4xx          -> UpstreamUnavailable: our request or credentials were refused
    5xx, unreachable       -> UpstreamUnavailable / UpstreamTimeout (raised by the kit's client)
"""

from __future__ import annotations

from urllib.parse import quote

from contracts import OrderAccepted, OrderCreate
from service_kit.answers import parse_answer, refusal
from service_kit.http import Upstream

# Any 409 the storefront cannot read as "too late to cancel": the shop delivers the webhook again.
_STILL_TAKING_IN = "This order is still being taken in; deliver the webhook again in a moment."


class OrdersApi:
    def __init__(self, upstream: Upstream) -> None:
        self._orders = upstream

    async def submit_order(self, *, order: OrderCreate, partner_id: str, idempotency_key: str) -> OrderAccepted:
        resp = await self._orders.post(
            "/v1/orders",
            json=order.model_dump(mode="json", exclude_none=True),
            partner_id=partner_id,
            idempotency_key=idempotency_key,
        )
        if resp.status_code in (200, 201, 202):
            return parse_answer(OrderAccepted, resp, upstream="orders")
        raise refusal(resp, upstream="orders", still_taking_in=_STILL_TAKING_IN, default_retry_after="1")

    async def cancel_order(self, *, order_id: str, reason: str, partner_id: str, idempotency_key: str) -> bool:
        """True when the cancellation is recorded (it runs in the background), False when the
        orders API says it is too late or there is nothing to cancel."""
        resp = await self._orders.post(
            f"/v1/orders/{quote(order_id, safe='')}/cancel",
            json={"reason": reason},
            partner_id=partner_id,
            idempotency_key=idempotency_key,
        )
        if resp.status_code in (200, 202):
            return True
        if resp.status_code == 409 and "Retry-After" not in resp.headers:
            return False
        raise refusal(resp, upstream="orders", still_taking_in=_STILL_TAKING_IN, default_retry_after="1")


__all__ = ["OrdersApi"]
