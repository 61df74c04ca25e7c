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

from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from contracts import CustomerStatus, Money, Order, OrderAccepted, OrderCreate, ProductStatus
from contracts.common import CanonicalModel
from service_kit.errors import (
    BusinessRuleViolation,
    Conflict,
    InterchangeError,
    UnprocessableContent,
    UpstreamUnavailable,
    problem_type,
)
from service_kit.http import Upstream

M = TypeVar("M", bound=BaseModel)


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
            return _parse(OrderAccepted, resp)
        raise _refusal(resp)

    async def get_order(self, *, order_id: str, partner_id: str) -> Order | None:
        resp = await self._orders.get(f"/v1/orders/{quote(order_id, safe='')}", partner_id=partner_id)
        if resp.status_code == 404:
            return None
        if resp.status_code == 200:
            return _parse(Order, resp)
        raise _refusal(resp)

    async def list_orders(self, *, partner_id: str, channel: str, limit: int, offset: int) -> list[Order]:
        params = {"channel": channel, "limit": limit, "offset": offset}
        resp = await self._orders.get("/v1/orders", params=params, partner_id=partner_id)
        if resp.status_code == 200:
            return _parse(_Orders, resp).items
        raise _refusal(resp)

    async def account_prices(self, *, customer_id: str) -> AccountPrices:
        resp = await self._orders.get(f"/v1/accounts/{quote(customer_id, safe='')}/prices")
        if resp.status_code == 200:
            return _parse(AccountPrices, resp)
        raise _refusal(resp)

    async def account_credit(self, *, customer_id: str) -> AccountCredit:
        resp = await self._orders.get(f"/v1/accounts/{quote(customer_id, safe='')}/credit")
        if resp.status_code == 200:
            return _parse(AccountCredit, resp)
        raise _refusal(resp)


def _parse(model: type[M], resp: httpx.Response) -> M:
    # A tolerant reader: fields the orders API adds later must not break this channel.
    try:
        return model.model_validate_json(resp.content, extra="ignore")
    except (ValueError, ValidationError) as exc:
        raise UpstreamUnavailable("The orders service gave an answer this API cannot read.") from exc


def _problem(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _refusal(resp: httpx.Response) -> InterchangeError:
    problem = _problem(resp)
    if resp.status_code == 422:
        kind = BusinessRuleViolation if problem.get("type") == problem_type(BusinessRuleViolation.slug) else None
        error_class = kind or UnprocessableContent
        errors = problem.get("errors")
        return error_class(
            str(problem.get("detail") or error_class.title),
            errors=[e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else None,
        )
    if resp.status_code == 409:
        if retry_after := resp.headers.get("Retry-After"):
            return Conflict(
                "This purchase order is still being taken in; send it again in a moment.",
                headers={"Retry-After": retry_after},
            )
        return Conflict(str(problem.get("detail") or Conflict.title))
    return UpstreamUnavailable(f"The orders service refused this API's request ({resp.status_code}).")


__all__ = ["AccountCredit", "AccountPrices", "OrdersApi"]
