"""The internal side of the orders process, for internal apps and the CLI (scope ``orders:admin``):
find orders, read an order's full timeline, work the exception queue, replay a parked order from
the step that failed, and decide a credit review. Every replay and review is audited.

Replays and reviews only change orders whose saga is stopped (parked or held), so they never
race the worker; a change of the same order at the same moment (a cancellation) is caught by
the order's version and answered 409.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from contracts import OrderStatus
from process_apis.orders import lifecycle, repository
from process_apis.orders.flows import outcomes
from process_apis.orders.models import HoldKind, OrderReplay, OrderRow, SagaStep
from process_apis.orders.schemas import (
    CreditDecisionKind,
    EventRead,
    ExceptionQueue,
    OrderPage,
    OrderTimeline,
    ParkedOrder,
    ReplayOutcome,
    ReplayRead,
    StatusChangeRead,
    StepRead,
)
from service_kit.errors import Conflict, NotFound
from service_kit.idempotency import Idempotency


async def find_orders(
    *,
    session: AsyncSession,
    channel: str | None,
    status: OrderStatus | None,
    customer_id: str | None,
    created_from: datetime | None,
    created_to: datetime | None,
    limit: int,
    offset: int,
) -> OrderPage:
    rows = await repository.list_orders(
        session,
        partner_id=None,
        channel=channel,
        status=status,
        customer_id=customer_id,
        created_from=created_from,
        created_to=created_to,
        limit=limit + 1,
        offset=offset,
    )
    more = len(rows) > limit
    return OrderPage(
        items=[repository.to_order(row) for row in rows[:limit]], next_offset=offset + limit if more else None
    )


async def _order(session: AsyncSession, order_id: str) -> OrderRow:
    row = await repository.get_order(session, order_id=order_id)
    if row is None:
        raise NotFound(f"No order {order_id}.")
    return row


def replay_read(replay: OrderReplay) -> ReplayRead:
    return ReplayRead(
        id=replay.id,
        order_id=replay.order_id,
        step=replay.step,
        actor=replay.actor,
        note=replay.note,
        requested_at=repository.aware(replay.requested_at),
        outcome=ReplayOutcome(replay.outcome),
        detail=replay.detail,
        finished_at=repository.aware(replay.finished_at) if replay.finished_at else None,
    )


async def timeline(*, session: AsyncSession, order_id: str) -> OrderTimeline:
    row = await _order(session, order_id)
    history = await repository.status_history(session, order_id=order_id)
    steps = await repository.step_log(session, order_id=order_id)
    replays = await repository.replays(session, order_id=order_id)
    events = await repository.events(session, order_id=order_id)
    return OrderTimeline(
        order=repository.to_order(row),
        history=[
            StatusChangeRead(
                from_status=OrderStatus(c.from_status) if c.from_status else None,
                to_status=OrderStatus(c.to_status),
                reason=c.reason,
                correlation_id=c.correlation_id,
                changed_at=repository.aware(c.changed_at),
            )
            for c in history
        ],
        steps=[
            StepRead(
                step=s.step,
                outcome=s.outcome,
                detail=s.detail,
                attempt=s.attempt,
                correlation_id=s.correlation_id,
                at=repository.aware(s.at),
            )
            for s in steps
        ],
        replays=[replay_read(r) for r in replays],
        events=[
            EventRead(
                id=e.id,
                type=e.type,
                source=e.source,
                subject=e.subject,
                time=repository.aware(e.time),
                correlationid=e.correlationid,
                data=e.data,
                published_at=repository.aware(e.published_at) if e.published_at else None,
            )
            for e in events
        ],
    )


async def exception_queue(
    *,
    session: AsyncSession,
    step: str | None,
    hold_kind: HoldKind | None,
    reason: str | None,
    older_than: timedelta | None,
    newer_than: timedelta | None,
    limit: int,
    offset: int,
) -> ExceptionQueue:
    now = datetime.now(UTC)
    rows = await repository.list_parked(
        session,
        step=step,
        hold_kind=hold_kind.value if hold_kind else None,
        reason=reason,
        parked_before=now - older_than if older_than else None,
        parked_after=now - newer_than if newer_than else None,
        limit=limit + 1,
        offset=offset,
    )
    more = len(rows) > limit
    items = [
        ParkedOrder(
            order_id=row.id,
            channel=row.channel,
            channel_order_id=row.channel_order_id,
            customer_id=row.customer_id,
            status=OrderStatus(row.status),
            hold_kind=row.hold_kind,
            failed_step=row.failed_step,
            reason=row.status_reason,
            last_error=row.last_error,
            parked_at=repository.aware(row.parked_at) if row.parked_at else None,
            age_seconds=(now - repository.aware(row.parked_at)).total_seconds() if row.parked_at else 0.0,
        )
        for row in rows[:limit]
    ]
    return ExceptionQueue(items=items, next_offset=offset + limit if more else None)


def _parked(row: OrderRow) -> None:
    if row.status != OrderStatus.on_hold.value or row.saga_active or row.hold_kind is None:
        raise Conflict(
            f"Order {row.id} is not in the exception queue (it is {row.status}); only a parked order is replayed.",
            status=row.status,
        )


async def _flush(session: AsyncSession, order_id: str) -> None:
    try:
        await session.flush()
    except StaleDataError:
        raise Conflict(f"Order {order_id} changed while this was being done; look at it again.") from None


async def replay_order(
    *, session: AsyncSession, order_id: str, actor: str, note: str | None, idem: Idempotency | None = None
) -> ReplayRead:
    """Sends a parked order back to the worker, from the step that failed; audited. ``idem``
    (the API's Idempotency-Key) replays an earlier answer; the CLI has none."""
    if idem is not None and (stored := await idem.start()) is not None:
        return ReplayRead.model_validate(stored.body)
    row = await _order(session, order_id)
    _parked(row)
    now = datetime.now(UTC)
    step = row.failed_step or row.saga_step
    back_to = OrderStatus(row.held_from or OrderStatus.received.value)
    replay = OrderReplay(order_id=row.id, step=step, actor=actor, note=note, requested_at=now, outcome="pending")
    repository.add_replay(session, replay=replay)
    await session.flush()
    await lifecycle.change_status(
        session,
        order=row,
        to=back_to,
        reason=f"replayed by {actor} from {step}",
        correlation_id=row.correlation_id,
        at=now,
    )
    row.saga_step = step
    row.saga_active, row.attempts, row.next_attempt_at, row.claimed_by = True, 0, None, None
    row.hold_kind = row.held_from = row.failed_step = row.parked_at = None
    row.pending_replay_id = replay.id
    row.updated_at = now
    outcomes.log(session, row, step, "replayed", f"by {actor}" + (f": {note}" if note else ""), now)
    await _flush(session, order_id)
    return await _answer(session, idem, replay_read(replay))


async def _answer(session: AsyncSession, idem: Idempotency | None, answer: ReplayRead) -> ReplayRead:
    if idem is not None:
        await idem.finish(session, status_code=202, body=answer.model_dump(mode="json"))
    return answer


async def review_credit(
    *,
    session: AsyncSession,
    order_id: str,
    actor: str,
    decision: CreditDecisionKind,
    note: str | None,
    idem: Idempotency | None = None,
) -> ReplayRead:
    """Approves an order held for credit review (it goes on to reserve stock) or rejects it."""
    if idem is not None and (stored := await idem.start()) is not None:
        return ReplayRead.model_validate(stored.body)
    row = await _order(session, order_id)
    _parked(row)
    if row.hold_kind != HoldKind.credit_review.value:
        raise Conflict(f"Order {order_id} is not held for credit review; replay it instead.")
    now = datetime.now(UTC)
    approved = decision is CreditDecisionKind.approve
    replay = OrderReplay(
        order_id=row.id,
        step=SagaStep.check_credit.value,
        actor=actor,
        note=f"credit {decision.value}d" + (f": {note}" if note else ""),
        requested_at=now,
        outcome="succeeded" if approved else "rejected",
        finished_at=now,
    )
    repository.add_replay(session, replay=replay)
    outcomes.log(session, row, SagaStep.check_credit.value, f"credit_{decision.value}d", f"by {actor}", now)
    if approved:
        await lifecycle.change_status(
            session,
            order=row,
            to=OrderStatus.received,
            reason=f"credit approved by {actor}",
            correlation_id=row.correlation_id,
            at=now,
        )
        row.saga_step, row.saga_active, row.attempts, row.next_attempt_at = SagaStep.reserve_stock.value, True, 0, None
        row.hold_kind = row.held_from = row.failed_step = row.parked_at = None
    else:
        await outcomes.reject(
            session, row, reason=f"credit refused by {actor}" + (f": {note}" if note else ""), now=now
        )
    row.updated_at = now
    await _flush(session, order_id)
    return await _answer(session, idem, replay_read(replay))


__all__ = ["exception_queue", "find_orders", "replay_order", "replay_read", "review_credit", "timeline"]
