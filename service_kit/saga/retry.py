"""The saga's retry policy: jittered exponential backoff between attempts of a failing step,
then parking (the exception queue)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

#: A private generator: the global ``random`` state is left alone (Hypothesis checks it).
_JITTER = random.Random()  # noqa: S311 - jitter, not security

ERROR_MAX = 2000


@dataclass(frozen=True)
class RetryPolicy:
    """Jittered exponential backoff between attempts of a failing step, then parking.

    Hand-written rather than stamina: stamina retries inside one call, while these waits must
    outlive the process (they are stored as ``next_attempt_at``) and free the worker meanwhile.
    The formula is stamina's: initial * 2^(n-1), capped, with "equal jitter" (half fixed, half random).
    """

    initial: float
    maximum: float
    max_attempts: int = 5

    def delay(self, attempts: int) -> timedelta:
        base = min(self.initial * 2 ** max(attempts - 1, 0), self.maximum)
        return timedelta(seconds=base / 2 + _JITTER.uniform(0, base / 2))


class Retried(Protocol):
    """The row columns a retry touches."""

    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    claimed_by: str | None


def count_failure(row: Retried, *, error: str, policy: RetryPolicy) -> bool:
    """Counts a technical failure on ``row``; True when its attempts are used up (park it)."""
    row.attempts += 1
    row.last_error = error[:ERROR_MAX]
    return row.attempts >= policy.max_attempts


def schedule_retry(row: Retried, *, now: datetime, policy: RetryPolicy) -> None:
    """The row is due again after the policy's delay, and no longer claimed."""
    row.next_attempt_at = now + policy.delay(row.attempts)
    row.claimed_by = None


__all__ = ["ERROR_MAX", "Retried", "RetryPolicy", "count_failure", "schedule_retry"]
