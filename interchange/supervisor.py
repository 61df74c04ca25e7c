"""When the launcher starts a service again after it exits, and what it says about it.

The back-off schedule is tenacity's ``wait_exponential_jitter`` (tenacity comes with stamina, a
dependency already): 1 s, 2 s, 4 s ... capped at ``RestartPolicy.maximum``, each plus up to
``jitter`` seconds at random, so a suite whose services all fall over at once (a full disk, a
database restart) does not start them again in lock step. A service that stayed up for
``stable_after`` seconds starts the schedule again from 1 s when it exits.

The restart loop itself is the launcher's (``interchange.launcher.Suite.watch``): tenacity and
stamina retry one call that raises, sleeping in between; the launcher watches every service at
once in one loop, woken by SIGCHLD and by Ctrl-C, so it keeps only the bookkeeping here
(``Restarts``): how many quick exits in a row, and when the next start is due.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
from dataclasses import dataclass, field
from pathlib import Path

import tenacity

LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class RestartPolicy:
    maximum: float = 30.0  # seconds: the longest wait between two starts
    jitter: float = 1.0  # seconds: up to this much is added to each wait, at random
    stable_after: float = 30.0  # seconds up: the next exit starts the schedule again
    report_after: int = 3  # quick exits in a row: a crash loop, reported with the log's tail

    def delay(self, *, attempt: int) -> float:
        """Seconds to wait before start number ``attempt`` after a run of quick exits (1-based)."""
        state = tenacity.RetryCallState(tenacity.Retrying(), None, (), {})
        state.attempt_number = attempt
        wait = tenacity.wait_exponential_jitter(max=self.maximum, jitter=self.jitter)
        return float(wait(state))


@dataclass
class Restarts:
    """One service's restarts: exits in a row that each came soon after the start, and when the
    next start is due (``None`` while it runs)."""

    policy: RestartPolicy = field(default_factory=RestartPolicy)
    quick_exits: int = 0
    started_at: float = 0.0
    due: float | None = None

    def started(self, *, now: float) -> None:
        self.started_at = now
        self.due = None

    def exited(self, *, now: float) -> float:
        """Record an exit at ``now``; returns the seconds until the next start (also ``due``)."""
        if now - self.started_at >= self.policy.stable_after:
            self.quick_exits = 0
        self.quick_exits += 1
        delay = self.policy.delay(attempt=self.quick_exits)
        self.due = now + delay
        return delay

    @property
    def crash_loop(self) -> bool:
        """True once, on the exit that makes the run of quick exits a crash loop (reported then,
        not on every later exit: each of those still gets its one line)."""
        return self.quick_exits == self.policy.report_after


def die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM if the launcher dies, so no orphan survives a SIGKILL."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def describe_exit(returncode: int) -> str:
    """``exit code 3`` or ``killed by SIGKILL`` (Popen's negative return code is the signal)."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def log_tail(path: Path, *, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a service's log (read from its end: logs grow)."""
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc.strerror})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(the log is empty)"


__all__ = ["RestartPolicy", "Restarts", "describe_exit", "die_with_parent", "log_tail"]
