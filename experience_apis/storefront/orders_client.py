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

from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from contracts import OrderAccepted, OrderCreate
from service_kit.errors import (
    BusinessRuleViolation,
    Conflict,
    InterchangeError,
    UnprocessableContent,
    UpstreamUnavailable,
    problem_type,
)
from service_kit.http import Upstream


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
            try:
                return OrderAccepted.model_validate_json(resp.content, extra="ignore")
            except (ValueError, ValidationError) as exc:
                raise UpstreamUnavailable("The orders service gave an answer this API cannot read.") from exc
        raise _refusal(resp)

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
        raise _refusal(resp)


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
        retry_after = resp.headers.get("Retry-After", "1")
        return Conflict(
            "This order is still being taken in; deliver the webhook again in a moment.",
            headers={"Retry-After": retry_after},
        )
    return UpstreamUnavailable(f"The orders service refused this API's request ({resp.status_code}).")


__all__ = ["OrdersApi"]
