"""What each step's outcome does to the order, inside the saga's transaction: its result
recorded and the next step set, a refusal turned into a rejection (compensating first) or a
hold, a technical failure into a jittered retry or, when retries run out, a parked order.

Every function takes the worker's session and the order row, changes only them, and logs the
step in ``order_saga_log``; status changes go through ``lifecycle`` (history and outbox event in
the same transaction).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import OrderStatus, Reservation, SalesOrder
from process_apis.orders import lifecycle, repository
from process_apis.orders.clients import InsufficientStock, PickingTooLate, PriceQuoteResult, Refused
from process_apis.orders.flows.steps import CreditDecision, shipment_reference
from process_apis.orders.models import (
    FORWARD_STEPS,
    HoldKind,
    OrderReservationRow,
    OrderRow,
    OrderStepLog,
    SagaStep,
)
from service_kit.saga import exceptions as saga_exceptions
from service_kit.saga.retry import RetryPolicy, count_failure, schedule_retry

REASON_MAX = 500
S = SagaStep


def _at() -> datetime:
    """When something happened, for the history, the step log and the audit: the real time (the
    worker's pass clock, ``now`` below, only schedules retries; tests move it forward)."""
    return datetime.now(UTC)


def _clip(text: str | None) -> str | None:
    return text[:REASON_MAX] if text else None


def log(session: AsyncSession, row: OrderRow, step: str, outcome: str, detail: str | None, now: datetime) -> None:
    repository.add_step_log(
        session,
        entry=OrderStepLog(
            order_id=row.id,
            step=step,
            outcome=outcome,
            detail=detail[:2000] if detail else None,
            attempt=row.attempts,
            correlation_id=row.correlation_id,
            at=_at(),
        ),
    )


async def change(session: AsyncSession, row: OrderRow, to: OrderStatus, reason: str | None, now: datetime) -> None:
    await lifecycle.change_status(
        session, order=row, to=to, reason=_clip(reason), correlation_id=row.correlation_id, at=_at()
    )


async def _settle_replay(session: AsyncSession, row: OrderRow, outcome: str, detail: str | None, now: datetime) -> None:
    if row.pending_replay_id is None:
        return
    replay = await repository.get_replay(session, replay_id=row.pending_replay_id)
    if replay is not None:
        replay.outcome, replay.detail, replay.finished_at = outcome, detail, _at()
    row.pending_replay_id = None


def _stop(row: OrderRow) -> None:
    saga_exceptions.stop(row)


async def _end(session: AsyncSession, row: OrderRow, to: OrderStatus | None, reason: str | None, now: datetime) -> None:
    """The saga is over: the order ends (or stays) in ``to``."""
    row.saga_step = S.done.value
    row.compensating_for, row.compensation, row.resume_step = None, [], None
    row.hold_kind = row.held_from = row.failed_step = None
    _stop(row)
    if to is not None and OrderStatus(row.status) is not to:
        await change(session, row, to, reason, now)
    await _settle_replay(session, row, "rejected" if to is OrderStatus.rejected else "succeeded", reason, now)


async def park(
    session: AsyncSession, row: OrderRow, *, step: str, kind: HoldKind, reason: str, error: str | None, now: datetime
) -> None:
    """On hold until a person replays or reviews it: the exception queue."""
    row.failed_step, row.hold_kind, row.parked_at = step, kind.value, _at()
    row.last_error = error[:2000] if error else row.last_error
    _stop(row)
    log(session, row, step, "parked", reason, now)
    if row.status != OrderStatus.on_hold.value:
        row.held_from = row.status
        await change(session, row, OrderStatus.on_hold, reason, now)
    else:
        row.status_reason = _clip(reason)
    await _settle_replay(session, row, "failed", reason, now)


def compensations_due(row: OrderRow, *, cancelling: bool) -> list[str]:
    """What must be undone, in reverse order of the steps that did it."""
    steps: list[str] = []
    if any(r.status == "picking" for r in row.reservations):
        steps.append(S.cancel_picking.value)
    if cancelling and (row.pivot_attempted or row.erp_order_number):
        steps.append(S.cancel_sales_order.value)
    reached_reservation = row.saga_step in (S.done.value, *COMPENSATION_VALUES) or (
        row.saga_step in FORWARD_VALUES and FORWARD_VALUES.index(row.saga_step) >= FORWARD_VALUES.index(S.reserve_stock)
    )
    if row.reservations or reached_reservation:
        steps.append(S.release_stock.value)
    return steps


FORWARD_VALUES = [step.value for step in FORWARD_STEPS]
COMPENSATION_VALUES = (S.cancel_picking.value, S.cancel_sales_order.value, S.release_stock.value)


async def _next_compensation(session: AsyncSession, row: OrderRow, now: datetime) -> None:
    if row.compensation:
        row.saga_step, row.compensation = row.compensation[0], row.compensation[1:]
        return
    if row.compensating_for == "cancellation":
        await _end(session, row, OrderStatus.cancelled, row.cancel_reason or "cancelled", now)
    else:
        await _end(session, row, OrderStatus.rejected, row.rejection_reason, now)


async def reject(session: AsyncSession, row: OrderRow, *, reason: str, now: datetime) -> None:
    """A business refusal before the pivot: compensate what was done, then end rejected."""
    row.rejection_reason = _clip(reason)
    row.compensating_for = "rejection"
    row.compensation = compensations_due(row, cancelling=False)
    await _next_compensation(session, row, now)


async def begin_cancellation(session: AsyncSession, row: OrderRow, *, now: datetime) -> None:
    """Switches an order whose cancellation was asked for from its forward steps to undoing them."""
    if row.compensating_for is not None:
        return  # already undoing (a rejection finishes first; the order ends without the goods either way)
    status = OrderStatus(row.status)
    if status in (OrderStatus.shipped, OrderStatus.invoiced, OrderStatus.completed, OrderStatus.rejected):
        row.cancel_outcome = _clip(f"not cancelled: the order is already {status.value}")
        row.cancel_requested_at = None
        if row.saga_step == S.done.value:
            _stop(row)
        return
    row.resume_step = row.saga_step
    row.compensating_for = "cancellation"
    row.compensation = compensations_due(row, cancelling=True)
    row.hold_kind = row.failed_step = None
    log(session, row, row.saga_step, "cancelling", row.cancel_reason, now)
    await _next_compensation(session, row, now)


async def succeeded(session: AsyncSession, row: OrderRow, *, step: SagaStep, result: Any, now: datetime) -> None:
    row.attempts, row.last_error, row.failed_step = 0, None, None
    log(session, row, step.value, "succeeded", _describe(result), now)
    if row.pending_replay_id is not None and row.compensating_for is None:
        await _settle_replay(session, row, "succeeded", f"{step.value} succeeded", now)
    match step:
        case S.price_order:
            quote: PriceQuoteResult = result
            for line, priced in zip(row.lines, quote.lines, strict=True):
                line.unit_price, line.line_total = priced.unit_price.amount, priced.line_total.amount
            row.total_amount = quote.total.amount
            row.saga_step = S.check_credit.value
        case S.check_credit:
            decision: CreditDecision = result
            if decision.approved:
                row.saga_step = S.reserve_stock.value
            else:
                await park(
                    session,
                    row,
                    step=step.value,
                    kind=HoldKind.credit_review,
                    reason=decision.detail,
                    error=None,
                    now=now,
                )
        case S.reserve_stock:
            _record_reservations(row, result)
            row.saga_step = S.create_sales_order.value
            # The pivot is the next call and its answer could be lost: from here on a
            # cancellation looks the sales order up by reference.
            row.pivot_attempted = True
        case S.create_sales_order:
            sales_order: SalesOrder = result
            row.erp_order_number = sales_order.number
            row.saga_step = S.release_to_warehouse.value
            await change(session, row, OrderStatus.accepted, None, now)  # with its order.accepted event
        case S.release_to_warehouse:
            for reservation in row.reservations:
                reservation.status = "picking"
            row.saga_step = S.record_activity.value
            await change(session, row, OrderStatus.released, None, now)
        case S.record_activity:
            await _end(session, row, None, None, now)
        case S.cancel_picking:
            for reservation in row.reservations:
                reservation.status = "active"
            await _next_compensation(session, row, now)
        case S.cancel_sales_order:
            await _next_compensation(session, row, now)
        case S.release_stock:
            for reservation in row.reservations:
                reservation.status = "released"
            await _next_compensation(session, row, now)


def _record_reservations(row: OrderRow, reservations: list[Reservation]) -> None:
    row.reservations = [
        OrderReservationRow(
            order_id=row.id,
            seq=number,
            reference=reservation.reference,
            reservation_id=reservation.id,
            warehouse=reservation.warehouse,
            status="active",
            lines=[line.model_dump(mode="json") for line in reservation.lines],
        )
        for number, reservation in enumerate(reservations, start=1)
    ]
    row.reservation_id = reservations[0].id if reservations else None
    by_sku: dict[str, list[str]] = {}
    for reservation in reservations:
        for line in reservation.lines:
            by_sku.setdefault(line.sku, [])
            if line.warehouse not in by_sku[line.sku]:
                by_sku[line.sku].append(line.warehouse)
    for order_line in row.lines:
        order_line.warehouse = "+".join(by_sku.get(order_line.sku, [])) or None


async def refused(session: AsyncSession, row: OrderRow, *, step: SagaStep, refusal: Refused, now: datetime) -> None:
    log(session, row, step.value, "refused", f"{refusal.system}: {refusal.detail}", now)
    match step:
        case S.price_order:
            await reject(session, row, reason=f"the ERP refused to price it: {refusal.detail}", now=now)
        case S.check_credit:
            await reject(session, row, reason=f"the credit check failed: {refusal.detail}", now=now)
        case S.reserve_stock if isinstance(refusal, InsufficientStock):
            short = ", ".join(refusal.skus) if refusal.skus else refusal.detail
            await reject(session, row, reason=f"insufficient stock for {short}", now=now)
        case S.reserve_stock:
            await reject(session, row, reason=f"the WMS refused the reservation: {refusal.detail}", now=now)
        case S.create_sales_order:
            await reject(session, row, reason=f"the ERP refused the sales order: {refusal.detail}", now=now)
        case S.record_activity:
            # After the sale the order goes forward; the missing activity is said, not hidden.
            row.status_reason = _clip(f"the CRM refused the activity: {refusal.detail}")
            await _end(session, row, None, None, now)
        case S.cancel_picking if isinstance(refusal, PickingTooLate):
            await _too_late(session, row, refusal.detail, now)
        case S.cancel_sales_order if refusal.detail and "No sales order" in refusal.detail:
            await _next_compensation(session, row, now)
        case _:
            # After the pivot, and in compensations, a refusal needs a person, never a rejection.
            reason = f"{step.value} was refused by the {refusal.system.upper()}: {refusal.detail}"
            await park(session, row, step=step.value, kind=HoldKind.technical, reason=reason, error=reason, now=now)


async def _too_late(session: AsyncSession, row: OrderRow, detail: str, now: datetime) -> None:
    """The cancellation cannot be done: say so, and go on where the order stood."""
    row.cancel_outcome = _clip(f"not cancelled: too late, {detail}")
    row.cancel_requested_at = None
    resume = row.resume_step or S.done.value
    row.compensating_for, row.compensation, row.resume_step = None, [], None
    log(session, row, S.cancel_picking.value, "too_late", detail, now)
    if resume == S.done.value:
        row.saga_step = S.done.value
        _stop(row)
    else:
        row.saga_step = resume
    if row.status == OrderStatus.on_hold.value and row.held_from:
        await change(session, row, OrderStatus(row.held_from), "cancellation too late; resumed", now)
        row.held_from = None


async def failed(
    session: AsyncSession, row: OrderRow, *, step: SagaStep, error: str, now: datetime, policy: RetryPolicy
) -> None:
    """A technical failure: retry later with backoff, or park once the attempts are used up."""
    if count_failure(row, error=error, policy=policy):
        reason = f"{step.value} failed {row.attempts} times: {error}"
        await park(session, row, step=step.value, kind=HoldKind.technical, reason=reason, error=error, now=now)
        return
    log(session, row, step.value, "failed", error, now)
    schedule_retry(row, now=now, policy=policy)


def _describe(result: Any) -> str | None:
    match result:
        case SalesOrder():
            return f"sales order {result.number}"
        case [Reservation(), *_]:
            return "reservations " + ", ".join(f"{r.id} ({r.warehouse}, {r.status.value})" for r in result)
        case CreditDecision():
            return result.detail
        case PriceQuoteResult():
            return f"total {result.total.amount} {result.total.currency}"
        case list() if all(isinstance(x, str) for x in result):
            return "released " + ", ".join(result) if result else "nothing to release"
    return None


#: A step result in words, for the step log (the saga's batched writes log the same).
describe = _describe


def references_of(row: OrderRow) -> list[str]:
    """Every WMS reference the order's reservations may be under."""
    refs = [row.id]
    if row.split_allowed:
        refs += [shipment_reference(row.id, n) for n in range(1, MAX_SHIPMENTS + 1)]
    return refs


#: Shipments a split order may have at most (one per warehouse).
MAX_SHIPMENTS = 4

__all__ = [
    "RetryPolicy",
    "begin_cancellation",
    "compensations_due",
    "describe",
    "failed",
    "log",
    "park",
    "references_of",
    "refused",
    "reject",
    "succeeded",
]
