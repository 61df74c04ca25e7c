"""The orders process API, as the B2B channel calls it (over HTTP, with this service's own token
and the reseller's identity forward). Answers come back as canonical objects or as this service's
errors:

    202 on submit          -> OrderAccepted
    404 on an order read   -> None (not the reseller's, or no such order)
    409, 422               -> Conflict / BusinessRuleViolation / UnprocessableContent, canonical pointers
    any other 4xx          -> UpstreamUnavailable: our request or credentials were refused, which the
                              reseller cannot fix
    5xx, unreachable       -> UpstreamUnavailable / UpstreamTimeout (raised by the kit's client)
"""

from __future__ import annotations

from urllib.parse import quote

from contracts import CustomerStatus, Money, Order, OrderAccepted, OrderCreate, ProductStatus
from contracts.common import CanonicalModel
from service_kit.answers import parse_answer, refusal
from service_kit.http import Upstream

# A 409 with Retry-After: the orders API is still taking in the same purchase order.
_STILL_TAKING_IN = "This purchase order is still being taken in; send it again in a moment."


class AccountPrice(CanonicalModel):
    sku: str
    unit: str
    unit_price: Money
    status: ProductStatus


class AccountPrices(CanonicalModel):
    customer_id: str
    price_list: str
    currency: str
    version: int
    items: list[AccountPrice]


class AccountCredit(CanonicalModel):
    customer_id: str
    name: str
    status: CustomerStatus
    currency: str
    price_list: str
    credit_limit: Money | None = None
    open_orders: Money
    credit_headroom: Money | None = None


class _Orders(CanonicalModel):
    items: list[Order]


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
        raise refusal(resp, upstream="orders", still_taking_in=_STILL_TAKING_IN)

    async def get_order(self, *, order_id: str, partner_id: str) -> Order | None:
        resp = await self._orders.get(f"/v1/orders/{quote(order_id, safe='')}", partner_id=partner_id)
        if resp.status_code == 404:
            return None
        if resp.status_code == 200:
            return parse_answer(Order, resp, upstream="orders")
        raise refusal(resp, upstream="orders", still_taking_in=_STILL_TAKING_IN)

    async def list_orders(self, *, partner_id: str, channel: str, limit: int, offset: int) -> list[Order]:
        params = {"channel": channel, "limit": limit, "offset": offset}
        resp = await self._orders.get("/v1/orders", params=params, partner_id=partner_id)
        if resp.status_code == 200:
            return parse_answer(_Orders, resp, upstream="orders").items
        raise refusal(resp, upstream="orders", still_taking_in=_STILL_TAKING_IN)

    async def account_prices(self, *, customer_id: str) -> AccountPrices:
        resp = await self._orders.get(f"/v1/accounts/{quote(customer_id, safe='')}/prices")
        if resp.status_code == 200:
            return parse_answer(AccountPrices, resp, upstream="orders")
        raise refusal(resp, upstream="orders", still_taking_in=_STILL_TAKING_IN)

    async def account_credit(self, *, customer_id: str) -> AccountCredit:
        resp = await self._orders.get(f"/v1/accounts/{quote(customer_id, safe='')}/credit")
        if resp.status_code == 200:
            return parse_answer(AccountCredit, resp, upstream="orders")
        raise refusal(resp, upstream="orders", still_taking_in=_STILL_TAKING_IN)


__all__ = ["AccountCredit", "AccountPrices", "OrdersApi"]
