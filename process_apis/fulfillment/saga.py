"""Drives one saga row (a released order, a shipment, a return) through its step table on the
kit's runtime (``service_kit.saga``), recording each step's outcome before the next one runs.

A step is a call below (``perform``, outside any transaction) and what its answer does to the row
(``record``, in one transaction with the row's next step and any event it stages). A worker
stopped anywhere (a SIGKILL included) resumes at the saved step; every call below is idempotent
by the shipment or return id, so a step whose answer was lost is simply sent again and gets the
same document (never a second invoice). A refusal (422/404 below, or a rule of this process)
parks the row in the exception queue with its reason; a technical failure is retried with jittered
backoff and parked once its attempts are used up; a quota answer (429) is only waited out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from process_apis.fulfillment.clients import FulfillmentClients, Refused
from process_apis.fulfillment.models import Base, FulfillmentReplay
from service_kit.db import Database
from service_kit.errors import UpstreamTimeout, UpstreamUnavailable
from service_kit.http import UpstreamThrottled
from service_kit.saga import exceptions
from service_kit.saga.retry import RetryPolicy, count_failure, schedule_retry

log = structlog.get_logger("process_apis.fulfillment.saga")

REASON_MAX = 500


class Held(Exception):
    """A rule of this process says no (an unknown or cancelled order, lines not on it): park it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Perform = Callable[[Any, FulfillmentClients], Awaitable[Any]]
Record = Callable[[AsyncSession, Any, Any, datetime], Awaitable[None]]


@dataclass(frozen=True)
class Step:
    perform: Perform
    record: Record
    #: Called once the answer is in and before it is recorded (``service_kit.saga.injection``).
    answered: Callable[[], None] | None = None


@dataclass(frozen=True)
class Saga:
    """One saga: its table (a ``SagaColumns`` model with ``status``, ``status_reason`` and
    ``correlation_id``), the kind named in the exception queue, its steps by name."""

    kind: str
    model: type[Base]
    steps: Mapping[str, Step]


def now_utc() -> datetime:
    return datetime.now(UTC)


async def settle_replay(session: AsyncSession, row: Any, *, outcome: str, detail: str | None) -> None:
    """The pending replay of ``row`` (if any) ends with ``outcome``."""
    if row.pending_replay_id is None:
        return
    replay = await session.get(FulfillmentReplay, row.pending_replay_id)
    if replay is not None:
        replay.outcome, replay.detail, replay.finished_at = outcome, detail, now_utc()
    row.pending_replay_id = None


async def park(session: AsyncSession, row: Any, *, step: str, reason: str, error: str | None = None) -> None:
    """Into the exception queue: status ``held`` with its reason until a person replays it."""
    exceptions.park(row, step=step, error=error or reason, at=now_utc())
    row.status, row.status_reason = "held", reason[:REASON_MAX]
    await settle_replay(session, row, outcome="failed", detail=reason[:REASON_MAX])
    log.info("saga_parked", kind=type(row).__tablename__, id=row.id, step=step, reason=reason)


async def _in_step(db: Database, saga: Saga, row_id: str, step: str | None, change: Record, result: Any) -> Any:
    """Applies ``change`` to the row in one transaction, unless it moved on meanwhile."""
    async with db.transaction() as session:
        row = await session.get(saga.model, row_id)
        if row is None:
            return None
        if row.saga_active and (step is None or row.saga_step == step):  # type: ignore[attr-defined]
            await change(session, row, result, now_utc())
        return row


async def _held(session: AsyncSession, row: Any, _: Any, __: datetime, *, step: str, reason: str) -> None:
    await park(session, row, step=step, reason=reason)


async def _wait(session: AsyncSession, row: Any, _: Any, at: datetime, *, delay: float) -> None:
    row.next_attempt_at, row.claimed_by = at + timedelta(seconds=delay), None


async def _failed(
    session: AsyncSession, row: Any, _: Any, __: datetime, *, step: str, error: str, policy: RetryPolicy, now: datetime
) -> None:
    if count_failure(row, error=error, policy=policy):
        await park(session, row, step=step, reason=f"{step} failed {row.attempts} times: {error}")
    else:
        schedule_retry(row, now=now, policy=policy)


async def _succeeded(session: AsyncSession, row: Any, answer: Any, at: datetime, *, step: str, record: Record) -> None:
    row.attempts, row.last_error = 0, None
    await record(session, row, answer, at)
    await settle_replay(session, row, outcome="succeeded", detail=f"{step} succeeded")


async def advance(
    *,
    db: Database,
    saga: Saga,
    row_id: str,
    clients: Callable[[str | None], FulfillmentClients],
    policy: RetryPolicy,
    now: datetime | None = None,
) -> bool:
    """Runs the row's remaining steps; True when its saga stopped (done or parked), False when it
    waits for a retry or had nothing to do."""
    async with db.transaction() as session:
        row: Any = await session.get(saga.model, row_id)
    if row is None or not row.saga_active:
        return False
    calls = clients(row.correlation_id or None)
    with structlog.contextvars.bound_contextvars(saga=saga.kind, row_id=row_id, correlation_id=row.correlation_id):
        while row is not None and row.saga_active:
            name: str = row.saga_step
            step = saga.steps[name]
            try:
                result = await step.perform(row, calls)
                if step.answered is not None:
                    step.answered()
            except (Refused, Held) as refusal:
                reason = refusal.reason if isinstance(refusal, Held) else f"{refusal.system}: {refusal.detail}"
                await _in_step(db, saga, row_id, name, partial(_held, step=name, reason=reason), None)
                return True
            except UpstreamThrottled as exc:
                await _in_step(db, saga, row_id, name, partial(_wait, delay=exc.retry_after), None)
                return False
            except (UpstreamUnavailable, UpstreamTimeout) as exc:
                log.warning("saga_step_failed", step=name, error=exc.detail)
                change = partial(_failed, step=name, error=f"{name}: {exc.detail}", policy=policy, now=now or now_utc())
                row = await _in_step(db, saga, row_id, name, change, None)
                return row is not None and not row.saga_active
            except Exception as exc:
                log.exception("saga_step_crashed", step=name)
                error = f"{name}: internal error {exc!r}"
                change = partial(_failed, step=name, error=error, policy=policy, now=now or now_utc())
                row = await _in_step(db, saga, row_id, name, change, None)
                return row is not None and not row.saga_active
            row = await _in_step(db, saga, row_id, name, partial(_succeeded, step=name, record=step.record), result)
            if row is not None and row.saga_active and row.saga_step == name:
                return False  # someone else moved it (or the step stays): leave it to them
    return True


def finish(row: Any) -> None:
    """The saga is over (its last step succeeded)."""
    row.saga_step = "done"
    exceptions.stop(row)


__all__ = ["Held", "Saga", "Step", "advance", "finish", "now_utc", "park", "settle_replay"]
