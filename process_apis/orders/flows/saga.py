"""Drives one order through its saga, recording each step's outcome before the next one runs.

    price_order -> check_credit -> reserve_stock -> create_sales_order -> release_to_warehouse -> record_activity
                        |               |            (pivot: accepted)      (released)
                  over limit: on hold   refused before the pivot: compensate in reverse -> rejected

The next step is kept on the order (``saga_step``) and committed after every step, so a worker
that stops anywhere (a SIGKILL included) resumes where the order stood instead of redoing
finished steps. No database transaction is held across a call to the tier below.

Before the pivot a business refusal compensates in reverse (``release_stock``) and rejects the
order with a reason; after it the steps only go forward, and a refusal parks the order for a
person. A cancellation (asked for by the channel) switches the order to its compensations:
``cancel_picking`` (too late once picked: said on the order, and it goes on), then
``cancel_sales_order``, then ``release_stock``. A technical failure (timeout, 5xx, an open
circuit) is retried with jittered backoff and, when the attempts are used up, parks the order on
hold in the exception queue; a quota answer (429) is only waited out, never counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from contracts import Order, OrderStatus
from process_apis.orders import repository, saga_repository
from process_apis.orders.clients import OrderClients, Refused
from process_apis.orders.flows import outcomes, steps
from process_apis.orders.flows.outcomes import RetryPolicy
from process_apis.orders.flows.recorder import PricedAndChecked, StepRecorder
from process_apis.orders.models import OrderRow, SagaStep
from service_kit.db import Database
from service_kit.errors import UpstreamTimeout, UpstreamUnavailable
from service_kit.http import UpstreamThrottled
from service_kit.metrics import BusinessMetrics

log = structlog.get_logger("process_apis.orders.saga")

#: Builds the clients for one order: acting for its partner, carrying its correlation id.
ClientsFactory = Callable[..., OrderClients]


@dataclass(frozen=True)
class Progress:
    """An order as the saga sees it between two steps."""

    order: Order
    step: SagaStep
    active: bool
    cancelling: bool
    cancel_pending: bool
    split_allowed: bool
    reservation_ids: tuple[str, ...]
    picking_ids: tuple[str, ...]
    references: tuple[str, ...]
    correlation_id: str
    #: The row's optimistic lock as last seen (the batched writes update only that version).
    version: int = 0
    #: A replay is pending on it (its outcome is recorded with the step's: the ORM path does).
    replaying: bool = False


def _progress(row: OrderRow) -> Progress:
    return progress_of(row, lines=row.lines, reservations=row.reservations)


def progress_of(row: Any, *, lines: Sequence[Any], reservations: Sequence[Any]) -> Progress:
    """The progress from an ORM row or a Core row (same attribute names) with its lines and reservations."""
    return Progress(
        order=repository.canonical_order(row, lines=lines, reservation_ids=[r.reservation_id for r in reservations]),
        step=SagaStep(row.saga_step),
        active=row.saga_active,
        cancelling=row.compensating_for == "cancellation",
        cancel_pending=row.cancel_requested_at is not None and row.compensating_for is None,
        split_allowed=row.split_allowed,
        reservation_ids=tuple(r.reservation_id for r in reservations if r.status != "released"),
        picking_ids=tuple(r.reservation_id for r in reservations if r.status == "picking"),
        references=tuple(outcomes.references_of(row)),
        correlation_id=row.correlation_id,
        version=row.version,
        replaying=row.pending_replay_id is not None,
    )


async def claimed_progress(session: AsyncSession | AsyncConnection, *, order_ids: Sequence[str]) -> dict[str, Progress]:
    """The orders as the claiming transaction sees them (read after their claim was written),
    in three statements whatever their number."""
    loaded = await saga_repository.load_orders(session, order_ids=order_ids)
    return {row.id: progress_of(row, lines=lines, reservations=held) for row, lines, held in loaded}


async def load_progress(db: Database, *, order_id: str) -> Progress | None:
    async with db.transaction() as session:
        row = await repository.get_order(session, order_id=order_id)
        return _progress(row) if row else None


Change = Callable[[AsyncSession, OrderRow], Any]


async def in_step(db: Database, order_id: str, step: SagaStep | None, change: Change, *, lease: timedelta) -> Progress:
    """Applies ``change`` to the order in one transaction, unless the order moved on meanwhile
    (another worker, a replay). A concurrent change of the same row (a cancellation arriving) is
    detected by the row's version; the change is then applied again to the fresh row."""
    for attempt in range(5):
        try:
            async with db.transaction() as session:
                row = await repository.get_order(session, order_id=order_id)
                if row is None:
                    raise LookupError(f"order {order_id} vanished")
                if row.saga_active and (step is None or row.saga_step == step.value):
                    now = datetime.now(UTC)
                    held = repository.aware(row.next_attempt_at) if row.next_attempt_at else None
                    if held is not None and now < held < now + lease:
                        row.next_attempt_at = now + lease  # extend the claim while the order moves
                    await change(session, row)
                    row.updated_at = now
            return _progress(row)  # after the commit: with the version it wrote
        except StaleDataError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


async def _perform(step: SagaStep, progress: Progress, clients: OrderClients, db: Database) -> Any:
    order = progress.order
    match step:
        case SagaStep.price_order:
            return await steps.price_order(master=clients.master, erp=clients.erp, order=order)
        case SagaStep.check_credit:

            async def exposure() -> Decimal:
                async with db.transaction() as session:
                    return await repository.open_credit_exposure(
                        session, customer_id=order.customer_id, excluding=order.id
                    )

            return await steps.check_credit(master=clients.master, erp=clients.erp, order=order, open_exposure=exposure)
        case SagaStep.reserve_stock:
            return await steps.reserve_stock(
                wms=clients.wms, reservations=clients.reservations, order=order, split_allowed=progress.split_allowed
            )
        case SagaStep.create_sales_order:
            return await steps.create_sales_order(pivot=clients.pivot, order=order)
        case SagaStep.release_to_warehouse:
            return await steps.release_to_warehouse(
                pick_releases=clients.pick_releases, reservation_ids=progress.reservation_ids
            )
        case SagaStep.record_activity:
            return await steps.record_activity(activities=clients.activities, order=order)
        case SagaStep.cancel_picking:
            return await steps.cancel_picking(wms=clients.wms, reservation_ids=progress.picking_ids)
        case SagaStep.cancel_sales_order:
            return await steps.cancel_sales_order(erp=clients.erp, order_id=order.id, number=order.erp_order_number)
        case SagaStep.release_stock:
            return await steps.release_stock(
                wms=clients.wms, reservation_ids=progress.reservation_ids, references=progress.references
            )
    raise ValueError(f"no step to run at {step.value}")


async def advance_order(
    *,
    db: Database,
    make_clients: ClientsFactory,
    order_id: str,
    now: datetime,
    policy: RetryPolicy,
    lease: timedelta = timedelta(seconds=60),
    loaded: Progress | None = None,
    recorder: StepRecorder | None = None,
    metrics: BusinessMetrics | None = None,
) -> OrderStatus | None:
    """Runs the order's remaining steps. Returns its status when its saga stopped (done, or
    waiting for a person), ``None`` when it waits for a retry or had nothing to do. ``metrics``:
    where each step's time and the order's accepted/rejected/parked are counted. ``loaded``:
    the order as read in the transaction that claimed it (saves reading it again). ``recorder``:
    records a forward step's success together with other orders' (group commit, Core rows);
    without one, or when it declines, each outcome is its own ORM transaction (``in_step``)."""
    progress = loaded if loaded is not None else await load_progress(db, order_id=order_id)
    if progress is None or not progress.active:
        return None
    clients = make_clients(partner_id=progress.order.partner_id, correlation_id=progress.correlation_id or None)
    run = partial(in_step, db, order_id, lease=lease)
    with structlog.contextvars.bound_contextvars(order_id=order_id, correlation_id=progress.correlation_id):
        while progress.active:
            if progress.cancel_pending:
                progress = await run(None, partial(_cancel, now=now))
                continue
            step, before, started = progress.step, progress.order.status, time.perf_counter()
            try:
                result = await _perform(step, progress, clients, db)
                if step is SagaStep.price_order:
                    result = await _with_credit_check(result, progress, clients, db)
            except Refused as refusal:
                log.info("order_step_refused", step=step.value, system=refusal.system, detail=refusal.detail)
                progress = await run(step, partial(_refused, step=step, refusal=refusal, now=now))
                _observe(metrics, step, "refused", started, before, progress)
            except UpstreamThrottled as exc:
                log.info("order_step_throttled", step=step.value, retry_after=exc.retry_after)
                await run(step, partial(_throttled, delay=exc.retry_after, now=now))
                return None
            except (UpstreamUnavailable, UpstreamTimeout) as exc:
                log.warning("order_step_failed", step=step.value, error=exc.detail)
                error = f"{step.value}: {exc.detail}"
                progress = await run(step, partial(_failed, step=step, error=error, now=now, policy=policy))
                _observe(metrics, step, "failed", started, before, progress)
                return progress.order.status if not progress.active else None
            except Exception as exc:
                log.exception("order_step_crashed", step=step.value)
                error = f"{step.value}: internal error {exc!r}"
                progress = await run(step, partial(_failed, step=step, error=error, now=now, policy=policy))
                _observe(metrics, step, "failed", started, before, progress)
                return progress.order.status if not progress.active else None
            else:
                fast = await recorder.succeeded(progress=progress, step=step, result=result) if recorder else None
                progress = fast or await run(step, partial(_succeeded, step=step, result=result, now=now))
                _observe(metrics, step, "succeeded", started, before, progress)
            if progress.active and progress.step is step and not progress.cancel_pending:
                return None  # someone else moved the order on (or back); leave it to them
    # The plain end (released) is in the status history; a line each would be a log line per
    # order on the worker's hot path. The others (rejected, on hold, cancelled) are logged.
    if progress.order.status is not OrderStatus.released:
        log.info("order_saga_stopped", status=progress.order.status.value, reason=progress.order.status_reason)
    return progress.order.status


#: The order's status changes the business counts (``interchange_orders_total{outcome}``).
_COUNTED = {OrderStatus.accepted: "accepted", OrderStatus.rejected: "rejected", OrderStatus.on_hold: "parked"}


def _observe(
    metrics: BusinessMetrics | None, step: SagaStep, outcome: str, started: float, before: OrderStatus, after: Progress
) -> None:
    """The step's time, and the order's outcome when the step moved it to one that is counted."""
    if metrics is None:
        return
    metrics.saga_step_timer(step=step.value, outcome=outcome).observe(time.perf_counter() - started)
    status = after.order.status
    if status is not before and status in _COUNTED:
        metrics.orders_counter(channel=after.order.channel, outcome=_COUNTED[status]).inc()


async def _with_credit_check(quote: Any, progress: Progress, clients: OrderClients, db: Database) -> Any:
    """The credit check right after pricing, so both are recorded in one transaction (neither
    needs a call when the master data copy is fresh). Should it fail, the price is recorded on
    its own and the credit check runs as its own step, with its own outcome."""
    priced = progress.order.model_copy(update={"total": quote.total})
    try:
        credit = await _perform(SagaStep.check_credit, replace(progress, order=priced), clients, db)
    except Exception:
        return quote
    return PricedAndChecked(quote, credit)


async def _cancel(session: AsyncSession, row: OrderRow, *, now: datetime) -> None:
    await outcomes.begin_cancellation(session, row, now=now)


async def _succeeded(session: AsyncSession, row: OrderRow, *, step: SagaStep, result: Any, now: datetime) -> None:
    if isinstance(result, PricedAndChecked):
        await outcomes.succeeded(session, row, step=step, result=result.quote, now=now)
        if row.saga_active and row.saga_step == SagaStep.check_credit.value:
            await outcomes.succeeded(session, row, step=SagaStep.check_credit, result=result.credit, now=now)
        return
    await outcomes.succeeded(session, row, step=step, result=result, now=now)
    if step is SagaStep.release_to_warehouse and row.saga_step == SagaStep.record_activity.value:
        row.activity_attempted = True  # the CRM call comes next (a record only: see models.OrderRow)


async def _refused(session: AsyncSession, row: OrderRow, *, step: SagaStep, refusal: Refused, now: datetime) -> None:
    await outcomes.refused(session, row, step=step, refusal=refusal, now=now)


async def _failed(
    session: AsyncSession, row: OrderRow, *, step: SagaStep, error: str, now: datetime, policy: RetryPolicy
) -> None:
    await outcomes.failed(session, row, step=step, error=error, now=now, policy=policy)


async def _throttled(session: AsyncSession, row: OrderRow, *, delay: float, now: datetime) -> None:
    row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
    row.claimed_by = None


__all__ = [
    "ClientsFactory",
    "Progress",
    "RetryPolicy",
    "advance_order",
    "claimed_progress",
    "in_step",
    "load_progress",
]
