"""Typed calls to the tier below (ERP, WMS, CRM), over ``service_kit``'s ``Upstream``.

Each call turns the system's HTTP answer into a canonical object or a domain outcome:

    the expected answer        -> a canonical model (Customer, Reservation, SalesOrder...)
    "no such object" on a read -> None
    a business refusal         -> Refused (InsufficientStock for the WMS stock rule)
    anything else              -> UpstreamUnavailable (a technical failure: retry later)

Transport failures and 5xx answers arrive as UpstreamUnavailable/UpstreamTimeout from the kit,
which also retries safe calls. Writes to the ERP and WMS carry an Idempotency-Key, which is what
tells the kit they are safe to retry: both systems are idempotent by reference (the same
reservation reference or sales-order external reference returns the existing document), so a
retry never creates a second one. CRM activities are not, so they are sent once.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from service_kit.errors import UpstreamUnavailable
from service_kit.http import Upstream

M = TypeVar("M", bound=BaseModel)
K = TypeVar("K", bound=Hashable)
E = TypeVar("E")

INSUFFICIENT_STOCK = "urn:interchange:problem:insufficient-stock"
PICKING_TOO_LATE = "urn:interchange:problem:picking-too-late"


class Refused(Exception):
    """The system below understood the request and said no: a business answer, not a fault."""

    def __init__(
        self, system: str, detail: str, *, errors: list[dict[str, Any]] | None = None, kind: str | None = None
    ) -> None:
        super().__init__(detail)
        self.system = system
        self.detail = detail
        self.errors = errors or []
        self.kind = kind


class InsufficientStock(Refused):
    """No warehouse can ship every line in full; ``skus`` are the short ones."""

    def __init__(self, detail: str, *, skus: list[str], errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__("wms", detail, errors=errors, kind=INSUFFICIENT_STOCK)
        self.skus = skus


class PickingTooLate(Refused):
    """The warehouse already picked the goods: picking can no longer be cancelled."""

    def __init__(self, detail: str) -> None:
        super().__init__("wms", detail, kind=PICKING_TOO_LATE)


def _without(data: Any, path: Sequence[str | int]) -> None:
    node = data
    for part in path[:-1]:
        node = node[part]
    if isinstance(node, dict):
        node.pop(path[-1], None)


def read_body(model: type[M], resp: httpx.Response, *, system: str) -> M:
    """Parses an answer into a canonical model, tolerating fields we do not know (a newer system
    below may add some; canonical models reject unknown fields on the way in)."""
    try:
        data = resp.json()
    except ValueError:
        raise UpstreamUnavailable(f"The {system} service answered {resp.status_code} without JSON.") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        extras = [e["loc"] for e in exc.errors() if e["type"] == "extra_forbidden"]
        if len(extras) != exc.error_count():
            raise UpstreamUnavailable(f"The {system} service answered a body this service cannot read.") from exc
    trimmed = copy.deepcopy(data)
    for loc in extras:
        _without(trimmed, loc)
    try:
        return model.model_validate(trimmed)
    except ValidationError as exc:
        raise UpstreamUnavailable(f"The {system} service answered a body this service cannot read.") from exc


def problem_of(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def problem_errors(problem: dict[str, Any]) -> list[dict[str, Any]]:
    errors = problem.get("errors")
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def unexpected(system: str, action: str, resp: httpx.Response) -> UpstreamUnavailable:
    detail = problem_of(resp).get("detail")
    said = f": {detail}" if detail else "."
    return UpstreamUnavailable(f"The {system} service answered {resp.status_code} to {action}{said}")


def is_refusal(resp: httpx.Response) -> bool:
    """Only 422 is a business refusal. A 409 from the ERP or WMS means "another request is
    creating this document right now" or "the reference holds a document with other content":
    the first heals on a retry, the second needs a person, and neither may reject an order that
    could already have a document below. Both are reported as technical failures."""
    return resp.status_code == 422


def refused(system: str, action: str, resp: httpx.Response) -> Refused:
    problem = problem_of(resp)
    detail = str(problem.get("detail") or f"the {system} service refused to {action}")
    return Refused(system, detail, errors=problem_errors(problem), kind=problem.get("type"))


def path_part(value: str) -> str:
    return quote(value, safe="")


class BaseClient:
    system = ""

    def __init__(self, api: Upstream, *, partner_id: str | None = None, correlation_id: str | None = None):
        self._api = api
        self._partner_id = partner_id
        self._headers = {"X-Correlation-ID": correlation_id} if correlation_id else {}

    def _call(self, **extra: Any) -> dict[str, Any]:
        return {"partner_id": self._partner_id, "headers": dict(self._headers), **extra}

    async def _batch(
        self,
        path: str,
        entries: Sequence[E],
        *,
        body: Callable[[Sequence[E]], dict[str, Any]],
        answers: Callable[[Sequence[E], httpx.Response], dict[K, Any]],
        key: Callable[[E], K],
        action: str,
        kind: str,
    ) -> dict[K, Any]:
        """One batch call (idempotent per entry, so safe to retry), answered by ``key``. A 422 for
        the whole batch (an entry this system cannot read): each entry again on its own, so only
        that entry's order hears about it (``refused(action)``). ``kind`` names the batch in a
        technical failure."""
        resp = await self._api.post(path, **self._call(json=body(entries), retry_safe=True))
        if resp.status_code == 422 and len(entries) > 1:
            split: dict[K, Any] = {}
            for entry in entries:
                split.update(
                    await self._batch(path, [entry], body=body, answers=answers, key=key, action=action, kind=kind)
                )
            return split
        if resp.status_code == 422:
            return {key(entries[0]): refused(self.system, action, resp)}
        if resp.status_code != 200:
            raise unexpected(self.system, kind, resp)
        return answers(entries, resp)


__all__ = [
    "INSUFFICIENT_STOCK",
    "PICKING_TOO_LATE",
    "BaseClient",
    "InsufficientStock",
    "PickingTooLate",
    "Refused",
    "is_refusal",
    "path_part",
    "problem_errors",
    "problem_of",
    "read_body",
    "refused",
    "unexpected",
]
