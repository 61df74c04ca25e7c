"""The fulfilment API's logic: shipments and returns validated synchronously (nothing written on
a refusal) then handed to their sagas, and the reads, each scoped to the partner that may see it.

Who sees what: a 3PL partner its fulfilment requests and the shipments it posted; the channel's
partner that placed the order its order's shipments, invoices and returns; internal callers
(no acting partner) everything. Another partner's object answers 404, as an unknown one does.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.fulfillment import (
    CreditMemo,
    FulfillmentRequest,
    FulfillmentRequestStatus,
    Invoice,
    ShipmentStatus,
)
from process_apis.fulfillment import repository
from process_apis.fulfillment.models import (
    FulfillmentRequestRow,
    ReleasedOrderRow,
    ReturnRow,
    ShipmentRow,
    ShipmentStep,
)
from process_apis.fulfillment.saga import now_utc
from process_apis.fulfillment.schemas import (
    CreditMemoList,
    FulfillmentRequestList,
    InvoiceList,
    ReturnList,
    ReturnRead,
    ShipmentAccepted,
    ShipmentList,
    ShipmentRead,
    ShipmentSubmit,
)
from service_kit.correlation import current_correlation_id
from service_kit.errors import Conflict, NotFound, UnprocessableContent
from service_kit.workers import notify_after_commit

#: The worker's wake-up topic: a commit that makes saga work wakes it.
SAGA_TOPIC = "fulfillment_saga"


def quantity_of(value: Decimal) -> dict[str, str]:
    return {"value": format(value.normalize(), "f"), "unit": "EA"}


def request_read(row: FulfillmentRequestRow) -> FulfillmentRequest:
    return FulfillmentRequest.model_validate(
        {
            "request_id": row.id,
            "order_id": row.order_id,
            "partner_id": row.partner_id,
            "warehouse": row.warehouse,
            "lines": [
                {**ln, "shipped_quantity": ln.get("shipped_quantity") or quantity_of(Decimal(0))} for ln in row.lines
            ],
            "ship_to": row.ship_to,
            "status": row.status,
            "created_at": repository.aware(row.created_at),
        }
    )


def shipment_read(row: ShipmentRow) -> ShipmentRead:
    return ShipmentRead.model_validate(
        {
            "shipment_id": row.id,
            "order_id": row.order_id,
            "warehouse": row.warehouse,
            "carrier": row.carrier,
            "tracking_number": row.tracking_number,
            "tracking_url": row.tracking_url,
            "shipped_at": repository.aware(row.shipped_at),
            "lines": [
                {"line_no": ln.get("line_no") or 1, "sku": ln["sku"], "quantity": ln["quantity"]} for ln in row.lines
            ],
            "partner_id": row.partner_id,
            "status": row.status,
            "invoice_number": row.invoice_number,
            "created_at": repository.aware(row.created_at),
            "request_id": row.request_id,
            "status_reason": row.status_reason,
        }
    )


def return_read(row: ReturnRow) -> ReturnRead:
    return ReturnRead.model_validate(
        {
            "return_id": row.id,
            "order_id": row.order_id,
            "status": row.status,
            "lines": row.lines,
            "received_lines": row.received_lines or [],
            "credit_memo_number": row.credit_memo_number,
            "created_at": repository.aware(row.created_at),
            "status_reason": row.status_reason,
        }
    )


def problem(detail: str, errors: list[dict[str, Any]]) -> UnprocessableContent:
    return UnprocessableContent(detail, errors=errors)


def check_lines(
    asked: list[dict[str, Any]], *, known: dict[int, dict[str, Any]], done: dict[int, Decimal], what: str, done_as: str
) -> None:
    """Each asked line must be a known line (same SKU), once, for no more than is left of it."""
    errors: list[dict[str, Any]] = []
    seen = Counter(int(line["line_no"]) for line in asked)
    for index, line in enumerate(asked):
        line_no, loc = int(line["line_no"]), ["body", "lines", index]
        have = known.get(line_no)
        if have is None or have["sku"] != line["sku"]:
            errors.append({"loc": loc, "msg": f"line {line_no} ({line['sku']}) is not on the {what}"})
            continue
        if seen[line_no] > 1:
            errors.append({"loc": loc, "msg": f"line {line_no} is listed more than once"})
            continue
        left = Decimal(have["quantity"]["value"]) - done.get(line_no, Decimal(0))
        if Decimal(line["quantity"]["value"]) > left:
            said = f"{line['quantity']['value']} is above what is left ({left.normalize():f}; ordered minus {done_as})"
            errors.append({"loc": loc, "msg": f"line {line_no}: {said}"})
    if errors:
        raise problem(f"Nothing was recorded: {len(errors)} line(s) of this {what} cannot be taken.", errors)


def _same_shipment(row: ShipmentRow, body: ShipmentSubmit, partner_id: str | None) -> bool:
    lines = [ln.model_dump(mode="json") for ln in body.lines]
    return (
        row.order_id,
        row.warehouse,
        row.partner_id,
        [{k: ln[k] for k in ("line_no", "sku", "quantity")} for ln in row.lines],
    ) == (
        body.order_id,
        body.warehouse,
        partner_id,
        lines,
    )


async def submit_shipment(
    *, session: AsyncSession, body: ShipmentSubmit, partner_id: str | None, base_url: str
) -> ShipmentAccepted:
    """Records a shipment (after every check) and hands it to its saga; the same shipment again
    answers as the first time. The request (or the released order) is locked before anything is
    read, so a concurrent shipment of the same lines is checked against this one."""
    if body.request_id is not None:
        await repository.lock_request(session, request_id=body.request_id)
    else:
        await repository.lock_released_order(session, order_id=body.order_id)
    existing = await repository.get_shipment(session, shipment_id=body.shipment_id)
    if existing is not None:
        if partner_id is not None and existing.partner_id != partner_id:
            raise Conflict(f"Shipment id {body.shipment_id} is already used; send your own shipment reference.")
        if not _same_shipment(existing, body, partner_id):
            raise Conflict(f"Shipment {body.shipment_id} was recorded with other content; use a new shipment id.")
        return _accepted(existing, base_url)
    request: FulfillmentRequestRow | None = None
    if body.request_id is not None:
        request = await repository.get_request(session, request_id=body.request_id)
        if request is None or (partner_id is not None and request.partner_id != partner_id):
            raise NotFound(f"No fulfilment request {body.request_id}.")
    elif partner_id is not None:
        raise problem(
            "A partner's shipment names the fulfilment request it ships.",
            [{"loc": ["body", "request_id"], "msg": "required"}],
        )
    asked = [line.model_dump(mode="json") for line in body.lines]
    if request is not None:
        if request.order_id != body.order_id or request.warehouse != body.warehouse:
            raise problem(
                f"Request {request.id} is for order {request.order_id} from {request.warehouse}.",
                [{"loc": ["body", "order_id"], "msg": "not the request's order or warehouse"}],
            )
        if request.status == FulfillmentRequestStatus.cancelled.value:
            raise Conflict(f"Request {request.id} was cancelled with its order; do not ship it.")
        done = await repository.shipped_by_line(session, order_id=request.order_id, request_id=request.id)
        check_lines(
            asked, known={ln["line_no"]: ln for ln in request.lines}, done=done, what="request", done_as="shipped"
        )
    else:
        order = await repository.get_released_order(session, order_id=body.order_id)
        if order is not None and order.lines:
            done = await repository.shipped_by_line(session, order_id=body.order_id)
            check_lines(
                asked, known={ln["line_no"]: ln for ln in order.lines}, done=done, what="order", done_as="shipped"
            )
    row = ShipmentRow(
        id=body.shipment_id,
        order_id=body.order_id,
        request_id=request.id if request else None,
        partner_id=partner_id if partner_id is not None else (request.partner_id if request else None),
        warehouse=body.warehouse,
        carrier=body.carrier,
        tracking_number=body.tracking_number,
        tracking_url=body.tracking_url,
        shipped_at=body.shipped_at,
        lines=asked,
        status=ShipmentStatus.recorded.value,
        wms_recorded=False,
        saga_step=ShipmentStep.check_order.value,
        saga_active=True,
        attempts=0,
        correlation_id=correlation(),
        created_at=now_utc(),
    )
    session.add(row)
    if request is not None:
        await session.flush()
        await _count_shipped(session, request)
    notify_after_commit(session=session, topic=SAGA_TOPIC)
    await session.flush()
    return _accepted(row, base_url)


async def _count_shipped(session: AsyncSession, request: FulfillmentRequestRow) -> None:
    """The request's shipped quantities and status, its new shipment (flushed) included."""
    done = await repository.shipped_by_line(session, order_id=request.order_id, request_id=request.id)
    lines = [{**ln, "shipped_quantity": quantity_of(done.get(ln["line_no"], Decimal(0)))} for ln in request.lines]
    full = all(done.get(ln["line_no"], Decimal(0)) >= Decimal(ln["quantity"]["value"]) for ln in request.lines)
    request.lines = lines
    request.status = FulfillmentRequestStatus.shipped.value if full else FulfillmentRequestStatus.partly_shipped.value


def correlation() -> str:
    return current_correlation_id() or ""


def _accepted(row: ShipmentRow, base_url: str) -> ShipmentAccepted:
    return ShipmentAccepted(
        shipment_id=row.id, status=ShipmentStatus(row.status), status_url=f"{base_url}v1/shipments/{row.id}"
    )


def may_see(partner_id: str | None, *owners: str | None) -> bool:
    return partner_id is None or partner_id in owners


async def get_shipment(*, session: AsyncSession, shipment_id: str, partner_id: str | None) -> ShipmentRead:
    row = await repository.get_shipment(session, shipment_id=shipment_id)
    if row is None or not may_see(partner_id, row.partner_id, row.order_partner_id):
        raise NotFound(f"No shipment {shipment_id}.")
    return shipment_read(row)


async def order_for(session: AsyncSession, *, order_id: str, partner_id: str | None) -> ReleasedOrderRow | None:
    """The order as this process knows it, when ``partner_id`` may see it (404 otherwise)."""
    order = await repository.get_released_order(session, order_id=order_id)
    if partner_id is None:
        return order
    if order is not None and order.partner_id == partner_id:
        return order
    requests = await repository.requests_of(session, order_id=order_id)
    if any(r.partner_id == partner_id for r in requests):
        return order
    raise NotFound(f"No order {order_id}.")


async def order_shipments(*, session: AsyncSession, order_id: str, partner_id: str | None) -> ShipmentList:
    await order_for(session, order_id=order_id, partner_id=partner_id)
    rows = await repository.shipments_of(session, order_id=order_id)
    return ShipmentList(items=[shipment_read(r) for r in rows if may_see(partner_id, r.partner_id, r.order_partner_id)])


async def order_invoices(*, session: AsyncSession, order_id: str, partner_id: str | None) -> InvoiceList:
    await order_for(session, order_id=order_id, partner_id=partner_id)
    rows = await repository.shipments_of(session, order_id=order_id)
    return InvoiceList(items=[Invoice.model_validate(r.invoice) for r in rows if r.invoice])


async def order_credit_memos(*, session: AsyncSession, order_id: str, partner_id: str | None) -> CreditMemoList:
    await order_for(session, order_id=order_id, partner_id=partner_id)
    rows = await repository.returns_of(session, order_id=order_id)
    return CreditMemoList(items=[CreditMemo.model_validate(r.credit_memo) for r in rows if r.credit_memo])


async def order_returns(*, session: AsyncSession, order_id: str, partner_id: str | None) -> ReturnList:
    await order_for(session, order_id=order_id, partner_id=partner_id)
    return ReturnList(items=[return_read(r) for r in await repository.returns_of(session, order_id=order_id)])


async def get_request(*, session: AsyncSession, request_id: str, partner_id: str | None) -> FulfillmentRequest:
    row = await repository.get_request(session, request_id=request_id)
    if row is None or not may_see(partner_id, row.partner_id):
        raise NotFound(f"No fulfilment request {request_id}.")
    return request_read(row)


async def list_requests(
    *, session: AsyncSession, partner_id: str | None, status: FulfillmentRequestStatus | None, limit: int, offset: int
) -> FulfillmentRequestList:
    rows = await repository.list_requests(
        session, partner_id=partner_id, status=status.value if status else None, limit=limit + 1, offset=offset
    )
    more = len(rows) > limit
    return FulfillmentRequestList(
        items=[request_read(r) for r in rows[:limit]], next_offset=offset + limit if more else None
    )


__all__ = [
    "SAGA_TOPIC",
    "check_lines",
    "get_request",
    "get_shipment",
    "list_requests",
    "order_invoices",
    "order_returns",
    "order_shipments",
    "request_read",
    "return_read",
    "shipment_read",
    "submit_shipment",
]
