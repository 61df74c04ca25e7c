"""The exception queue's row state, shared by the sagas: a row is parked (stopped, with the step
that failed, when and why) until a person replays it from that step; every replay is audited in
the service's replay table (``ReplayAuditColumns``), its outcome settled by the saga when the
replayed step next succeeds or fails.

The functions change only the row; the caller's transaction commits them, together with its own
status change and log line. Replays only change rows whose saga is stopped, so they never race
the worker.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service_kit.saga.retry import ERROR_MAX


class SagaState(Protocol):
    """The saga columns of a row (``SagaColumns`` declares them)."""

    saga_step: str
    saga_active: bool
    attempts: int
    next_attempt_at: datetime | None
    claimed_by: str | None
    last_error: str | None
    failed_step: str | None
    parked_at: datetime | None


class SagaColumns:
    """Declarative mixin: the saga columns of a table the runtime drives (``claims``); give the table
    an index on (saga_active, next_attempt_at) for the claim."""

    saga_step: Mapped[str] = mapped_column(String(40))
    saga_active: Mapped[bool] = mapped_column(default=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    failed_step: Mapped[str | None] = mapped_column(String(40))
    parked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    pending_replay_id: Mapped[int | None] = mapped_column(Integer)


class ReplayAuditColumns:
    """Declarative mixin: one replay of a parked row, who asked, why, and how it ended."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    step: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(500))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(20))  # pending | succeeded | failed
    detail: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def stop(row: SagaState) -> None:
    """The saga stops running (done, or parked): no longer due, no longer claimed."""
    row.saga_active = False
    row.next_attempt_at = None
    row.claimed_by = None


def park(row: SagaState, *, step: str, error: str | None, at: datetime) -> None:
    """Into the exception queue: stopped at ``step`` until a person replays it."""
    row.failed_step, row.parked_at = step, at
    row.last_error = error[:ERROR_MAX] if error else row.last_error
    stop(row)


def is_parked(row: SagaState) -> bool:
    return not row.saga_active and row.parked_at is not None


def reopen(row: SagaState) -> str:
    """Back to the worker from the step that failed (returned); attempts start again."""
    step = row.failed_step or row.saga_step
    row.saga_step = step
    row.saga_active, row.attempts, row.next_attempt_at, row.claimed_by = True, 0, None, None
    row.failed_step = row.parked_at = None
    return step


__all__ = ["ReplayAuditColumns", "SagaColumns", "SagaState", "is_parked", "park", "reopen", "stop"]
