"""A process API's answers as the tier above reads them (service_kit.answers), the one reader the
marketplace, storefront and b2b clients of the orders API share."""

from __future__ import annotations

import httpx
import pytest

from contracts import OrderAccepted
from service_kit.answers import parse_answer, refusal
from service_kit.errors import (
    BusinessRuleViolation,
    Conflict,
    InterchangeError,
    UnprocessableContent,
    UpstreamUnavailable,
    problem_type,
)

BUSY = "Still being taken in; send it again in a moment."


def _refusal(resp: httpx.Response, **kwargs: str) -> InterchangeError:
    return refusal(resp, upstream="orders", still_taking_in=BUSY, **kwargs)


def test_a_business_rule_problem_keeps_its_kind_and_pointers() -> None:
    errors = [{"pointer": "/lines/0/sku", "detail": "not sold to this customer"}, "junk"]
    problem = {"type": problem_type(BusinessRuleViolation.slug), "detail": "Over credit.", "errors": errors}
    err = _refusal(httpx.Response(422, json=problem))
    assert type(err) is BusinessRuleViolation
    assert err.detail == "Over credit."
    assert err.errors == [errors[0]]


def test_any_other_422_is_unprocessable_content() -> None:
    err = _refusal(httpx.Response(422, content=b"not json"))
    assert type(err) is UnprocessableContent
    assert err.detail == UnprocessableContent.title


def test_a_409_with_retry_after_is_the_same_request_still_being_taken_in() -> None:
    err = _refusal(httpx.Response(409, headers={"Retry-After": "3"}, json={"detail": "in flight"}))
    assert isinstance(err, Conflict)
    assert err.detail == BUSY
    assert err.headers == {"Retry-After": "3"}


def test_a_409_without_retry_after_carries_the_upstream_detail_unless_a_default_is_given() -> None:
    resp = httpx.Response(409, json={"detail": "Already shipped."})
    plain = _refusal(resp)
    assert isinstance(plain, Conflict)
    assert plain.detail == "Already shipped."
    assert not plain.headers
    retried = _refusal(resp, default_retry_after="1")
    assert retried.detail == BUSY
    assert retried.headers == {"Retry-After": "1"}


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_other_refusals_are_ours_to_fix_not_the_callers(status: int) -> None:
    err = _refusal(httpx.Response(status, json={"detail": "secret internals"}))
    assert type(err) is UpstreamUnavailable
    assert err.detail == f"The orders service refused this API's request ({status})."


def test_an_answer_is_read_tolerantly_and_an_unreadable_one_is_the_upstreams_fault() -> None:
    body = {"id": "ord_1", "status": "received", "status_url": "/v1/orders/ord_1", "added_later": True}
    accepted = parse_answer(OrderAccepted, httpx.Response(202, json=body), upstream="orders")
    assert accepted.id == "ord_1"
    with pytest.raises(UpstreamUnavailable, match="orders service gave an answer"):
        parse_answer(OrderAccepted, httpx.Response(202, json={"status": 1}), upstream="orders")


def test_an_error_located_the_fastapi_way_comes_with_a_pointer_the_tier_above_can_rename() -> None:
    errors = [{"loc": ["body", "lines", 1], "msg": "line 2 is not on the request"}, {"loc": ["query", "limit"]}]
    err = _refusal(httpx.Response(422, json={"detail": "Nothing was recorded.", "errors": errors}))
    assert err.errors == [
        {"pointer": "#/lines/1", "in": "body", "detail": "line 2 is not on the request"},
        {"pointer": "#/limit", "in": "query", "detail": ""},
    ]
