"""Injection points (crash tests stop the orders process at a named place, then kill it there):
the batcher's hook runs once a batch's answers are in and before any order hears its own, the
setting arms only the batcher it names, and the process is stopped once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Mapping
from pathlib import Path

import pytest
from pydantic import ValidationError

from process_apis.orders.app import create_app
from process_apis.orders.flows.batches import Batcher
from service_kit.saga import injection
from tests.support.tokens import static_verifier
from tests.unit.process_apis.conftest import orders_settings


async def test_the_hook_runs_after_the_answer_arrived_and_before_any_entry_hears_it() -> None:
    booked: list[str] = []

    async def post(correlation_id: str, entries: list[str]) -> Mapping[str, str]:
        booked.extend(entries)
        return {entry: f"SO-{entry}" for entry in entries}

    batcher: Batcher[str, str] = Batcher(post, key=lambda entry: entry, max_batch=10, name="test", system="ERP")
    pending: list[asyncio.Task[str]] = []
    seen: list[tuple[list[str], list[bool]]] = []
    batcher.answered_hook = lambda: seen.append((list(booked), [task.done() for task in pending]))
    pending.extend(asyncio.create_task(batcher.submit(ref)) for ref in ("a", "b"))
    assert await asyncio.gather(*pending) == ["SO-a", "SO-b"]
    assert seen == [(["a", "b"], [False, False])]  # booked below, nobody told yet


def test_the_setting_arms_only_the_batcher_it_names(tmp_path: Path) -> None:
    plain = create_app(orders_settings(tmp_path / "plain"), verifier=static_verifier())
    assert plain.state.pivot_batcher.answered_hook is None
    assert plain.state.reservation_batcher.answered_hook is None
    armed = create_app(
        orders_settings(tmp_path / "armed", injection_point="reservation_batch_answered"), verifier=static_verifier()
    )
    assert armed.state.reservation_batcher.answered_hook is not None
    assert armed.state.pivot_batcher.answered_hook is None
    with pytest.raises(ValidationError):
        orders_settings(tmp_path, injection_point="somewhere_else")


def test_the_process_is_stopped_the_first_time_only(monkeypatch: pytest.MonkeyPatch) -> None:
    signals: list[tuple[int, int]] = []
    monkeypatch.setattr(injection.os, "kill", lambda pid, sig: signals.append((pid, sig)))
    reached = injection.stop_once("pivot_batch_answered")
    reached()
    reached()
    assert signals == [(injection.os.getpid(), signal.SIGSTOP)]
