"""The supervisor's back-off schedule and crash-loop bookkeeping (interchange.supervisor)."""

from __future__ import annotations

from pathlib import Path

import pytest

from interchange.supervisor import RestartPolicy, Restarts, describe_exit, log_tail


def test_the_wait_doubles_from_one_second_up_to_the_cap() -> None:
    policy = RestartPolicy(maximum=30.0, jitter=0.0)
    assert [policy.delay(attempt=n) for n in range(1, 9)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


@pytest.mark.parametrize("attempt", range(1, 9))
def test_the_jitter_adds_at_most_its_bound_and_never_passes_the_cap(attempt: int) -> None:
    policy = RestartPolicy(maximum=30.0, jitter=1.0)
    base = min(2.0 ** (attempt - 1), 30.0)
    for _ in range(50):
        assert base <= policy.delay(attempt=attempt) <= min(base + 1.0, 30.0)


def test_the_jitter_spreads_services_that_fall_over_together() -> None:
    policy = RestartPolicy(jitter=1.0)
    assert len({policy.delay(attempt=1) for _ in range(20)}) > 1


def test_quick_exits_in_a_row_back_off_and_a_long_run_starts_the_schedule_again() -> None:
    restarts = Restarts(RestartPolicy(maximum=30.0, jitter=0.0, stable_after=60.0))
    now = 1000.0
    restarts.started(now=now)
    waits = []
    for _ in range(4):  # each run lasts 1 s: quick exits
        now += 1.0
        waits.append(restarts.exited(now=now))
        assert restarts.due == now + waits[-1]
        now = restarts.due
        restarts.started(now=now)
        assert restarts.due is None
    assert waits == [1.0, 2.0, 4.0, 8.0]
    now += 60.0  # stayed up long enough
    assert restarts.exited(now=now) == 1.0
    assert restarts.quick_exits == 1


def test_a_crash_loop_is_flagged_once_when_the_quick_exits_reach_the_threshold() -> None:
    restarts = Restarts(RestartPolicy(jitter=0.0, stable_after=30.0, report_after=3))
    flagged = []
    now = 0.0
    for _ in range(6):
        restarts.started(now=now)
        now += 0.5
        restarts.exited(now=now)
        flagged.append(restarts.crash_loop)
        now = float(restarts.due or now)
    assert flagged == [False, False, True, False, False, False]


def test_an_exit_is_described_by_its_code_or_its_signal() -> None:
    assert describe_exit(3) == "exit code 3"
    assert describe_exit(0) == "exit code 0"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(-15) == "killed by SIGTERM"


def test_the_log_tail_is_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "wms.log"
    log.write_text("".join(f"line {n}\n" for n in range(100)))
    assert log_tail(log, lines=3) == "line 97\nline 98\nline 99"
    (tmp_path / "empty.log").write_text("")
    assert log_tail(tmp_path / "empty.log") == "(the log is empty)"
    assert "cannot read" in log_tail(tmp_path / "missing.log")
