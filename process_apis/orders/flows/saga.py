"""Drives one received order through its steps, recording each result before the next step runs.

    price_order -> reserve_stock -> create_sales_order -> record_activity -> accepted
                        |                   |
             refused: rejected    refused: release_reservation -> rejected

The next step is kept on the order (``saga_step``), so a worker that stops anywhere resumes
where it stood instead of redoing finished steps. No database transaction is held across a call
to the tier below: each step's result is recorded in its own short transaction.

A business refusal before the ERP sales order rejects the order (releasing the reservation when
there is one); after it, the order goes forward (a refused CRM activity does not undo a sale). A
technical failure leaves the order in ``received`` with ``last_error`` and a ``next_attempt_at``
that backs off exponentially.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Order, OrderStatus, Reservation, SalesOrder
from process_apis.orders import lifecycle, repository
from process_apis.orders.clients import InsufficientStock, OrderClients, PriceQuoteResult, Refused
from process_apis.orders.flows import steps
from process_apis.orders.models import OrderRow, SagaStep
from service_kit.db import Database
from service_kit.errors import UpstreamTimeout, UpstreamUnavailable

log = structlog.get_logger("process_apis.orders.saga")

REASON_MAX = 500

#: Builds the clients for one order: acting for its partner, carrying its correlation id.
ClientsFactory = Callable[..., OrderClients]


@dataclass(frozen=True)
class RetryPolicy:
    initial: float
    maximum: float

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.initial * 2 ** max(attempts - 1, 0), self.maximum))


@dataclass(frozen=True)
class Progress:
    """An order as the saga sees it between two steps."""

    order: Order
    step: SagaStep
    correlation_id: str


def _progress(row: OrderRow) -> Progress:
    return Progress(order=repository.to_order(row), step=SagaStep(row.saga_step), correlation_id=row.correlation_id)


async def load_progress(db: Database, *, order_id: str) -> Progress | None:
    async with db.transaction() as session:
        row = await repository.get_order(session, order_id=order_id)
        return _progress(row) if row else None


async def advance_order(
    *, db: Database, make_clients: ClientsFactory, order_id: str, now: datetime, policy: RetryPolicy
) -> OrderStatus | None:
    """Runs the order's remaining steps. Returns its new status when it left ``received``,
    ``None`` when it is still there (waiting for a retry) or was not ``received`` at all."""
    progress = await load_progress(db, order_id=order_id)
    if progress is None or progress.order.status is not OrderStatus.received:
        return None
    clients = make_clients(partner_id=progress.order.partner_id, correlation_id=progress.correlation_id or None)
    with structlog.contextvars.bound_contextvars(order_id=order_id, correlation_id=progress.correlation_id):
        while progress.order.status is OrderStatus.received:
            step = progress.step
            try:
                result = await _perform(step, progress.order, clients)
            except Refused as refusal:
                log.info("order_step_refused", step=step.value, system=refusal.system, detail=refusal.detail)
                progress = await _in_step(db, order_id, step, partial(_refused, step=step, refusal=refusal))
            except (UpstreamUnavailable, UpstreamTimeout) as exc:
                log.warning("order_step_failed", step=step.value, error=exc.detail)
                await _defer(db, order_id=order_id, error=f"{step.value}: {exc.detail}", now=now, policy=policy)
                return None
            except Exception as exc:
                log.exception("order_step_crashed", step=step.value)
                await _defer(
                    db, order_id=order_id, error=f"{step.value}: internal error {exc!r}", now=now, policy=policy
                )
                return None
            else:
                progress = await _in_step(db, order_id, step, partial(_record, step=step, result=result))
            if progress.step is step and progress.order.status is OrderStatus.received:
                return None  # someone else moved the order on; leave it to them
    log.info("order_processed", status=progress.order.status.value, reason=progress.order.status_reason)
    return progress.order.status


async def _perform(step: SagaStep, order: Order, clients: OrderClients) -> Any:
    match step:
        case SagaStep.price_order:
            return await steps.price_order(erp=clients.erp, order=order)
        case SagaStep.reserve_stock:
            return await steps.reserve_stock(wms=clients.wms, order=order)
        case SagaStep.create_sales_order:
            return await steps.create_sales_order(erp=clients.erp, order=order)
        case SagaStep.record_activity:
            return await steps.record_activity(crm=clients.crm, order=order)
        case SagaStep.release_reservation:
            return await steps.release_reservation(wms=clients.wms, order=order)
    raise ValueError(f"no step to run at {step.value}")


Change = Callable[[AsyncSession, OrderRow], Any]


async def _in_step(db: Database, order_id: str, step: SagaStep, change: Change) -> Progress:
    """Applies ``change`` to the order in one transaction, unless the order moved meanwhile."""
    async with db.transaction() as session:
        row = await repository.get_order(session, order_id=order_id)
        if row is None:
            raise LookupError(f"order {order_id} vanished")
        if row.status == OrderStatus.received.value and row.saga_step == step.value:
            await change(session, row)
            row.updated_at = datetime.now(UTC)
        return _progress(row)


async def _record(session: AsyncSession, row: OrderRow, *, step: SagaStep, result: Any) -> None:
    row.attempts, row.last_error = 0, None
    match step:
        case SagaStep.price_order:
            quote: PriceQuoteResult = result
            for line, priced in zip(row.lines, quote.lines, strict=True):
                line.unit_price, line.line_total = priced.unit_price.amount, priced.line_total.amount
            row.total_amount = quote.total.amount
            row.saga_step = SagaStep.reserve_stock.value
        case SagaStep.reserve_stock:
            reservation: Reservation = result
            warehouses = {line.sku: line.warehouse for line in reservation.lines}
            for order_line in row.lines:
                order_line.warehouse = warehouses.get(order_line.sku, reservation.warehouse)
            row.reservation_id = reservation.id
            row.saga_step = SagaStep.create_sales_order.value
        case SagaStep.create_sales_order:
            sales_order: SalesOrder = result
            row.erp_order_number = sales_order.number
            row.saga_step = SagaStep.record_activity.value
        case SagaStep.record_activity:
            await _finish(session, row, OrderStatus.accepted, reason=None)
        case SagaStep.release_reservation:
            await _finish(session, row, OrderStatus.rejected, reason=row.rejection_reason)


async def _refused(session: AsyncSession, row: OrderRow, *, step: SagaStep, refusal: Refused) -> None:
    match step:
        case SagaStep.price_order:
            await _finish(session, row, OrderStatus.rejected, reason=f"the ERP refused to price it: {refusal.detail}")
        case SagaStep.reserve_stock if isinstance(refusal, InsufficientStock):
            short = ", ".join(refusal.skus) if refusal.skus else refusal.detail
            await _finish(session, row, OrderStatus.rejected, reason=f"insufficient stock for {short}")
        case SagaStep.reserve_stock:
            await _finish(
                session, row, OrderStatus.rejected, reason=f"the WMS refused the reservation: {refusal.detail}"
            )
        case SagaStep.create_sales_order:
            row.rejection_reason = f"the ERP refused the sales order: {refusal.detail}"[:REASON_MAX]
            if row.reservation_id:
                row.saga_step = SagaStep.release_reservation.value  # compensate first, then reject
            else:
                await _finish(session, row, OrderStatus.rejected, reason=row.rejection_reason)
        case SagaStep.record_activity:
            # After the sale the order goes forward; the missing activity is said, not hidden.
            await _finish(
                session, row, OrderStatus.accepted, reason=f"accepted; the CRM refused the activity: {refusal.detail}"
            )
        case SagaStep.release_reservation:
            log.warning("reservation_release_refused", reservation_id=row.reservation_id, detail=refusal.detail)
            await _finish(session, row, OrderStatus.rejected, reason=row.rejection_reason)


async def _finish(session: AsyncSession, row: OrderRow, status: OrderStatus, *, reason: str | None) -> None:
    row.saga_step = SagaStep.done.value
    row.next_attempt_at = None
    await lifecycle.change_status(
        session,
        order=row,
        to=status,
        reason=reason[:REASON_MAX] if reason else None,
        correlation_id=row.correlation_id,
        at=datetime.now(UTC),
    )


async def _defer(db: Database, *, order_id: str, error: str, now: datetime, policy: RetryPolicy) -> None:
    async with db.transaction() as session:
        row = await repository.get_order(session, order_id=order_id)
        if row is None or row.status != OrderStatus.received.value:
            return
        row.attempts += 1
        row.last_error = error[:2000]
        row.next_attempt_at = now + policy.delay(row.attempts)
        row.updated_at = datetime.now(UTC)


__all__ = ["ClientsFactory", "Progress", "RetryPolicy", "advance_order", "load_progress"]
