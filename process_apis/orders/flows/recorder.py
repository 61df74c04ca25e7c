"""The forward steps' successes of many orders recorded in one transaction (group commit).

Every order of a pass runs its saga on its own (``flows.saga.advance_order``), and after each step
that succeeded it hands the result here: what arrived while a transaction was being written goes
into the next one, so under load a transaction carries as many orders as finished a step during
the last one, and the worker's transactions per order fall as load rises. The rows are Core
statements (``saga_repository``), one executemany per table: the step's outcome as
``flows.outcomes.succeeded`` records it (order, lines, reservations, step log, status history
and the outbox event of a status change), computed from the order as the saga last saw it.

Only the plain case comes here: a forward step that succeeded, on an order with no cancellation
asked for, no replay pending and no hold to decide (credit refused), whose status change (to
accepted, to released) ``lifecycle`` allows from where it stands. Anything else, and any order
that changed since the saga read it (its ``version`` moved: a cancellation, a replay), goes the
ORM path (``flows.saga.in_step``), which reads the row again and applies the same outcome to it:
``succeeded`` answers ``None`` and the caller records it there. A batch with one such order is
rolled back whole and every order in it takes that path (a race, rare).

Crash safety is the saga's: nothing here is done before its transaction commits, and a worker
killed before that finds each order at the step it stood at and runs the step again (every step
is idempotent below). Hand-written like ``flows.batches``' batcher (the same forty-line group commit).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import OrderStatus, Reservation, SalesOrder
from process_apis.orders import lifecycle, outbox, saga_repository
from process_apis.orders.clients import PriceQuoteResult
from process_apis.orders.flows.outcomes import describe
from process_apis.orders.flows.steps import CreditDecision
from process_apis.orders.models import SagaStep
from service_kit.db import Database
from service_kit.events.outbox import OUTBOX
from service_kit.workers import wakeup_for

if TYPE_CHECKING:
    from process_apis.orders.flows.saga import Progress

S = SagaStep


@dataclass(frozen=True)
class PricedAndChecked:
    """Pricing and the credit check made on the master data copy, recorded together."""

    quote: Any
    credit: Any


@dataclass
class _Planned:
    """One order's rows, and its progress once they are written."""

    progress: Progress
    shape: str
    order: dict[str, Any]
    after: Progress
    prices: list[dict[str, Any]] = field(default_factory=list)
    warehouses: list[dict[str, Any]] = field(default_factory=list)
    reservations: list[dict[str, Any]] = field(default_factory=list)
    picking: bool = False
    logs: list[tuple[str, str | None]] = field(default_factory=list)  # (step, detail)
    status: OrderStatus | None = None  # the status it changes to


class _Changed(Exception):
    """An order of the batch is no longer as its saga saw it."""


class StepRecorder:
    def __init__(self, db: Database, *, lease: timedelta) -> None:
        self._db = db
        self._lease = lease
        self._queue: list[tuple[_Planned, asyncio.Future[Progress | None]]] = []
        self._drain: asyncio.Task[None] | None = None
        #: Transactions written and orders' steps recorded in them (tests and metrics read them).
        self.transactions = 0
        self.recorded = 0

    async def succeeded(self, *, progress: Progress, step: SagaStep, result: Any) -> Progress | None:
        """The order's progress once the step's success is committed, or ``None`` when the ORM
        path must record it (not the plain case, or the order changed meanwhile)."""
        planned = _plan(progress, step, result)
        if planned is None:
            return None
        answer: asyncio.Future[Progress | None] = asyncio.get_running_loop().create_future()
        self._queue.append((planned, answer))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.create_task(self._write_all(), name="orders-step-recorder")
        return await answer

    async def _write_all(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                # A Core connection, not a session: nothing here is an ORM object.
                async with self._db.engine.begin() as connection:
                    announced = await self._write(connection, [planned for planned, _ in batch])
                if announced:
                    wakeup_for(db=self._db, topic=OUTBOX).notify()  # the relay sends them
            except _Changed:
                outcome: list[Progress | None] = [None] * len(batch)
            except BaseException as exc:  # the transaction failed: every order in it hears why
                for _, answer in batch:
                    if not answer.done():
                        answer.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            else:
                self.transactions += 1
                self.recorded += len(batch)
                outcome = [planned.after for planned, _ in batch]
            for (_, answer), after in zip(batch, outcome, strict=True):
                if not answer.done():
                    answer.set_result(after)

    async def _write(self, connection: AsyncConnection, batch: list[_Planned]) -> bool:
        """Writes the batch; returns whether it staged events in the outbox."""
        now = datetime.now(UTC)
        lease = now + self._lease
        shapes: dict[str, list[dict[str, Any]]] = {}
        for planned in batch:
            shapes.setdefault(planned.shape, []).append(planned.order | {"b_lease": lease})
        for shape, params in shapes.items():
            if await saga_repository.update_orders(connection, shape=shape, params=params, now=now) != len(params):
                raise _Changed  # rolls the batch back; each order goes the ORM path
        logs, history, events = [], [], []
        for planned in batch:
            p = planned.progress
            for step, detail in planned.logs:
                logs.append(
                    {
                        "order_id": p.order.id,
                        "step": step,
                        "outcome": "succeeded",
                        "detail": detail[:2000] if detail else None,
                        "attempt": 0,
                        "correlation_id": p.correlation_id,
                        "at": now,
                    }
                )
            if planned.status is not None:
                history.append(
                    {
                        "order_id": p.order.id,
                        "from_status": p.order.status.value,
                        "to_status": planned.status.value,
                        "reason": None,
                        "correlation_id": p.correlation_id,
                        "changed_at": now,
                    }
                )
                events.append(_event_row(planned, now))
        await saga_repository.write_batch(
            connection,
            prices=[row for planned in batch for row in planned.prices],
            warehouses=[row for planned in batch for row in planned.warehouses],
            reservations=[row for planned in batch for row in planned.reservations],
            picking=[planned.progress.order.id for planned in batch if planned.picking],
            step_logs=logs,
            history=history,
            outbox=events,
        )
        return bool(events)


def _event_row(planned: _Planned, now: datetime) -> dict[str, Any]:
    order = planned.after.order
    type_ = outbox.event_type(planned.status) if planned.status else None
    assert type_ is not None  # accepted and released are both announced
    event = outbox.announcement(
        type_=type_,
        order_id=order.id,
        channel=order.channel,
        channel_order_id=order.channel_order_id,
        partner=order.partner_id,
        erp_order_number=order.erp_order_number,
        reason=None,
        correlation_id=planned.progress.correlation_id,
        at=now,
    )
    return {
        "event_id": event.id,
        "type": event.type,
        "subject": event.subject,
        "envelope": event.model_dump_json(),
        "created_at": now,
        "attempts": 0,
    }


def _plan(p: Progress, step: SagaStep, result: Any) -> _Planned | None:
    """The rows of the plain case (see the module's docstring), or ``None`` for the ORM path."""
    if not p.active or p.step is not step or p.cancel_pending or p.cancelling or p.replaying or p.version < 1:
        return None
    order = p.order
    key = {"b_id": order.id, "b_version": p.version, "b_step": step.value, "b_new_version": p.version + 1}
    moved = p.version + 1  # the version the row has once this step is recorded
    match step, result:
        case S.price_order, PricedAndChecked(quote=PriceQuoteResult() as quote, credit=CreditDecision() as credit):
            if not credit.approved:
                return None  # a hold for credit review: the ORM path parks it
            planned = _priced(p, key, moved, quote, next_step=S.reserve_stock)
            if planned is not None:
                planned.logs.append((S.check_credit.value, credit.detail))
            return planned
        case S.price_order, PriceQuoteResult():
            return _priced(p, key, moved, result, next_step=S.check_credit)
        case S.check_credit, CreditDecision(approved=True):
            after = replace(p, step=S.reserve_stock, version=moved)
            return _Planned(p, step.value, key | {"b_next": S.reserve_stock.value}, after, logs=[_log(step, result)])
        case S.reserve_stock, list() if order.reservation_ids == [] and all(isinstance(r, Reservation) for r in result):
            return _reserved(p, key, moved, result)
        case S.create_sales_order, SalesOrder() if lifecycle.can_change(order.status, OrderStatus.accepted):
            changed = order.model_copy(update={"erp_order_number": result.number, "status": OrderStatus.accepted})
            after = replace(p, order=changed, step=S.release_to_warehouse, version=moved)
            params = key | {"b_next": S.release_to_warehouse.value, "b_number": result.number}
            return _Planned(p, step.value, params, after, logs=[_log(step, result)], status=OrderStatus.accepted)
        case S.release_to_warehouse, list() if lifecycle.can_change(order.status, OrderStatus.released):
            held = tuple(order.reservation_ids)
            changed = order.model_copy(update={"status": OrderStatus.released, "status_reason": None})
            after = replace(
                p,
                order=changed,
                step=S.record_activity,
                reservation_ids=held,
                picking_ids=held,
                version=moved,
            )
            params = key | {"b_next": S.record_activity.value}
            return _Planned(
                p, step.value, params, after, picking=True, logs=[_log(step, result)], status=OrderStatus.released
            )
        case S.record_activity, _:
            after = replace(p, step=S.done, active=False, version=moved)
            return _Planned(p, step.value, key | {"b_next": S.done.value}, after, logs=[_log(step, result)])
    return None


def _log(step: SagaStep, result: Any) -> tuple[str, str | None]:
    return step.value, describe(result)


def _priced(
    p: Progress, key: dict[str, Any], moved: int, quote: PriceQuoteResult, *, next_step: SagaStep
) -> _Planned | None:
    order = p.order
    if len(quote.lines) != len(order.lines):
        return None  # the ORM path says what is wrong
    lines = [
        line.model_copy(update={"unit_price": priced.unit_price, "line_total": priced.line_total})
        for line, priced in zip(order.lines, quote.lines, strict=True)
    ]
    prices = [
        {
            "b_order": order.id,
            "b_line": line.line_no,
            "b_price": priced.unit_price.amount,
            "b_total": priced.line_total.amount,
        }
        for line, priced in zip(order.lines, quote.lines, strict=True)
    ]
    after = replace(
        p, order=order.model_copy(update={"lines": lines, "total": quote.total}), step=next_step, version=moved
    )
    params = key | {"b_next": next_step.value, "b_total": quote.total.amount}
    return _Planned(p, S.price_order.value, params, after, prices=prices, logs=[_log(S.price_order, quote)])


def _reserved(p: Progress, key: dict[str, Any], moved: int, made: list[Reservation]) -> _Planned:
    order = p.order
    rows = [
        {
            "order_id": order.id,
            "seq": number,
            "reference": reservation.reference,
            "reservation_id": reservation.id,
            "warehouse": reservation.warehouse,
            "status": "active",
            "lines": [line.model_dump(mode="json") for line in reservation.lines],
        }
        for number, reservation in enumerate(made, start=1)
    ]
    by_sku: dict[str, list[str]] = {}
    for reservation in made:
        for line in reservation.lines:
            if line.warehouse not in by_sku.setdefault(line.sku, []):
                by_sku[line.sku].append(line.warehouse)
    where = {line.line_no: "+".join(by_sku.get(line.sku, [])) or None for line in order.lines}
    warehouses = [{"b_order": order.id, "b_line": n, "b_warehouse": w} for n, w in where.items()]
    ids = [reservation.id for reservation in made]
    first = ids[0] if ids else None
    changed = order.model_copy(
        update={
            "reservation_id": first,
            "reservation_ids": ids,
            "lines": [line.model_copy(update={"warehouse": where[line.line_no]}) for line in order.lines],
        }
    )
    after = replace(p, order=changed, step=S.create_sales_order, reservation_ids=tuple(ids), version=moved)
    params = key | {"b_next": S.create_sales_order.value, "b_reservation": first}
    return _Planned(
        p,
        S.reserve_stock.value,
        params,
        after,
        warehouses=warehouses,
        reservations=rows,
        logs=[_log(S.reserve_stock, made)],
    )


__all__ = ["PricedAndChecked", "StepRecorder"]
