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
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, Field, ValidationError

from contracts import (
    Customer,
    Money,
    PriceQuote,
    Product,
    Quantity,
    Reservation,
    ReservationCreate,
    SalesOrder,
    SalesOrderCreate,
)
from contracts.common import CanonicalModel, CurrencyCode, Sku
from service_kit.app import upstream
from service_kit.errors import UpstreamUnavailable
from service_kit.http import Upstream

M = TypeVar("M", bound=BaseModel)

INSUFFICIENT_STOCK = "urn:interchange:problem:insufficient-stock"
#: The ERP answers at most this many SKUs per item lookup.
ITEMS_PER_LOOKUP = 100


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


# The wire shapes of the tier below that `contracts` does not hold (yet).


class PriceQuoteLineRequest(CanonicalModel):
    sku: Sku
    quantity: Quantity


class PriceQuoteRequest(CanonicalModel):
    customer_id: str
    currency: CurrencyCode
    lines: list[PriceQuoteLineRequest]


class PriceQuoteResult(CanonicalModel):
    customer_id: str
    currency: CurrencyCode
    lines: list[PriceQuote]
    total: Money


class ActivityCreate(CanonicalModel):
    customer_id: str
    kind: Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")]
    subject: Annotated[str, Field(min_length=1, max_length=200)]
    reference: str | None = None


class Activity(ActivityCreate):
    id: str
    created_at: datetime


class _Items(CanonicalModel):
    items: list[Product]


class _Activities(CanonicalModel):
    items: list[Activity]


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


def _problem(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _problem_errors(problem: dict[str, Any]) -> list[dict[str, Any]]:
    errors = problem.get("errors")
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _unexpected(system: str, action: str, resp: httpx.Response) -> UpstreamUnavailable:
    detail = _problem(resp).get("detail")
    said = f": {detail}" if detail else "."
    return UpstreamUnavailable(f"The {system} service answered {resp.status_code} to {action}{said}")


def _is_refusal(resp: httpx.Response) -> bool:
    """Only 422 is a business refusal. A 409 from the ERP or WMS means "another request is
    creating this document right now" or "the reference holds a document with other content":
    the first heals on a retry, the second needs a person, and neither may reject an order that
    could already have a document below. Both are reported as technical failures."""
    return resp.status_code == 422


def _refused(system: str, action: str, resp: httpx.Response) -> Refused:
    problem = _problem(resp)
    detail = str(problem.get("detail") or f"the {system} service refused to {action}")
    return Refused(system, detail, errors=_problem_errors(problem), kind=problem.get("type"))


def _path(value: str) -> str:
    return quote(value, safe="")


class _Client:
    system = ""

    def __init__(self, api: Upstream, *, partner_id: str | None = None, correlation_id: str | None = None):
        self._api = api
        self._partner_id = partner_id
        self._headers = {"X-Correlation-ID": correlation_id} if correlation_id else {}

    def _call(self, **extra: Any) -> dict[str, Any]:
        return {"partner_id": self._partner_id, "headers": dict(self._headers), **extra}


class ErpClient(_Client):
    system = "erp"

    async def get_customer(self, customer_id: str) -> Customer | None:
        resp = await self._api.get(f"/v1/customers/{_path(customer_id)}", **self._call())
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise _unexpected(self.system, "a customer lookup", resp)
        return read_body(Customer, resp, system=self.system)

    async def find_items(self, skus: Sequence[str]) -> dict[str, Product]:
        """The products the ERP knows among ``skus``, by SKU (unknown ones are absent)."""
        wanted = sorted(set(skus))
        found: dict[str, Product] = {}
        for start in range(0, len(wanted), ITEMS_PER_LOOKUP):
            chunk = wanted[start : start + ITEMS_PER_LOOKUP]
            resp = await self._api.get("/v1/items", **self._call(params={"sku": chunk}))
            if resp.status_code != 200:
                raise _unexpected(self.system, "an item lookup", resp)
            found.update((item.sku, item) for item in read_body(_Items, resp, system=self.system).items)
        return found

    async def quote_prices(self, request: PriceQuoteRequest, *, reference: str) -> PriceQuoteResult:
        resp = await self._api.post(
            "/v1/price-quotes",
            **self._call(json=request.model_dump(mode="json"), idempotency_key=f"orders:{reference}:price-quote"),
        )
        if resp.status_code in (200, 201):
            return read_body(PriceQuoteResult, resp, system=self.system)
        if _is_refusal(resp):
            raise _refused(self.system, "price the order", resp)
        raise _unexpected(self.system, "a price quote", resp)

    async def create_sales_order(self, sales_order: SalesOrderCreate) -> SalesOrder:
        """201 creates it; 200 is the one already created for the same external reference."""
        resp = await self._api.post(
            "/v1/sales-orders",
            **self._call(
                json=sales_order.model_dump(mode="json", exclude_none=True),
                idempotency_key=f"orders:{sales_order.external_reference}:sales-order",
            ),
        )
        if resp.status_code in (200, 201):
            return read_body(SalesOrder, resp, system=self.system)
        if _is_refusal(resp):
            raise _refused(self.system, "create the sales order", resp)
        raise _unexpected(self.system, "a sales order", resp)


_SKU_IN_TEXT = re.compile(r"[A-Z0-9][A-Z0-9._\-]*")
_LINE_POINTER = re.compile(r"^#?/lines/(\d+)")


def short_skus(errors: list[dict[str, Any]], *, lines: Sequence[str]) -> list[str]:
    """The SKUs an insufficient-stock problem names: an ``sku`` member, a ``#/lines/N`` pointer,
    or an order SKU mentioned in the detail, whichever the WMS gives."""
    found: list[str] = []
    for error in errors:
        sku = error.get("sku")
        pointer = _LINE_POINTER.match(str(error.get("pointer", "")))
        if not sku and pointer and int(pointer.group(1)) < len(lines):
            sku = lines[int(pointer.group(1))]
        if not sku:
            mentioned = set(_SKU_IN_TEXT.findall(str(error.get("detail", ""))))
            sku = next((s for s in lines if s in mentioned), None)
        if sku and sku not in found:
            found.append(str(sku))
    return found


class WmsClient(_Client):
    system = "wms"

    async def reserve(self, reservation: ReservationCreate) -> Reservation:
        """201 reserves; 200 is the active reservation already held for the same reference."""
        resp = await self._api.post(
            "/v1/reservations",
            **self._call(
                json=reservation.model_dump(mode="json"),
                idempotency_key=f"orders:{reservation.reference}:reservation",
            ),
        )
        if resp.status_code in (200, 201):
            return read_body(Reservation, resp, system=self.system)
        problem = _problem(resp)
        if resp.status_code == 422 and problem.get("type") == INSUFFICIENT_STOCK:
            errors = _problem_errors(problem)
            skus = short_skus(errors, lines=[line.sku for line in reservation.lines])
            raise InsufficientStock(str(problem.get("detail") or "insufficient stock"), skus=skus, errors=errors)
        if _is_refusal(resp):
            raise _refused(self.system, "reserve stock", resp)
        raise _unexpected(self.system, "a reservation", resp)

    async def release(self, reservation_id: str) -> Reservation:
        resp = await self._api.post(
            f"/v1/reservations/{_path(reservation_id)}/release",
            **self._call(idempotency_key=f"orders:{reservation_id}:release"),
        )
        if resp.status_code == 200:
            return read_body(Reservation, resp, system=self.system)
        if resp.status_code == 404 or _is_refusal(resp):
            raise _refused(self.system, "release the reservation", resp)
        raise _unexpected(self.system, "a reservation release", resp)


class CrmClient(_Client):
    system = "crm"

    async def find_activity(self, *, customer_id: str, kind: str, reference: str) -> Activity | None:
        resp = await self._api.get(f"/v1/customers/{_path(customer_id)}/activities", **self._call())
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise _unexpected(self.system, "an activity lookup", resp)
        timeline = read_body(_Activities, resp, system=self.system).items
        return next((a for a in timeline if a.kind == kind and a.reference == reference), None)

    async def record_activity(self, activity: ActivityCreate) -> Activity:
        # Not idempotent below, so sent once (no Idempotency-Key, no kit retry); callers look
        # for an earlier one first.
        resp = await self._api.post("/v1/activities", **self._call(json=activity.model_dump(mode="json")))
        if resp.status_code in (200, 201):
            return read_body(Activity, resp, system=self.system)
        if resp.status_code == 404 or _is_refusal(resp):
            raise _refused(self.system, "record the activity", resp)
        raise _unexpected(self.system, "an activity", resp)


@dataclass(frozen=True)
class OrderClients:
    erp: ErpClient
    wms: WmsClient
    crm: CrmClient


def clients_for(app: FastAPI, *, partner_id: str | None = None, correlation_id: str | None = None) -> OrderClients:
    """Clients acting for ``partner_id``. ``correlation_id`` is for work outside a request (the
    worker): inside one, the kit already sends the request's own id."""
    scope = {"partner_id": partner_id, "correlation_id": correlation_id}
    return OrderClients(
        erp=ErpClient(upstream(app, "erp"), **scope),
        wms=WmsClient(upstream(app, "wms"), **scope),
        crm=CrmClient(upstream(app, "crm"), **scope),
    )


__all__ = [
    "Activity",
    "ActivityCreate",
    "CrmClient",
    "ErpClient",
    "InsufficientStock",
    "OrderClients",
    "PriceQuoteLineRequest",
    "PriceQuoteRequest",
    "PriceQuoteResult",
    "Refused",
    "WmsClient",
    "clients_for",
    "read_body",
    "short_skus",
]
