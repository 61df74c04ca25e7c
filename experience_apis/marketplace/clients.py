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

from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from contracts import Order, OrderAccepted, OrderCreate
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


def _parse(model: type[M], resp: httpx.Response) -> M:
    # A tolerant reader: fields the orders API adds later must not break this channel. Parsed from
    # the bytes by pydantic itself (no json.loads into dicts first: a status read pays it each time).
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
            # The orders API is still taking in the same order (same Idempotency-Key).
            return Conflict(
                "This marketplace order is still being taken in; send it again in a moment.",
                headers={"Retry-After": retry_after},
            )
        return Conflict(str(problem.get("detail") or Conflict.title))
    return UpstreamUnavailable(f"The orders service refused this API's request ({resp.status_code}).")


__all__ = ["OrdersApi"]
