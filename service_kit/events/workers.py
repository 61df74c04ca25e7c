"""Event workers for ``create_service_app(workers=[...])``: the outbox relay and consumers.

Each worker opens its own bus from ``app.state.settings`` (``open_bus``), uses the service's
database (``app.state.db``), runs on the worker runtime (``service_kit.workers``) until the app
shuts down (it stops between two batches) and closes the bus on the way out.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Collection, Mapping

from fastapi import FastAPI

from service_kit.events.batch import BatchHandler, consume_events
from service_kit.events.consumer import EventHandler, run_consumer, run_on_bus
from service_kit.events.factory import open_bus
from service_kit.events.outbox import run_relay
from service_kit.workers import AppWorker as Worker
from service_kit.workers import stop_event


def outbox_relay(
    *, batch_size: int = 100, idle_seconds: float = 0.5, max_idle_seconds: float = 5.0, linger: float = 0.02
) -> Worker:
    """Publish this service's committed outbox rows to the bus (woken by the commit; ``linger``:
    seconds to gather the commits of that moment into the pass, ``outbox.run_relay``)."""

    async def outbox_relay(app: FastAPI) -> None:
        bus = open_bus(settings=app.state.settings)
        try:
            await run_relay(
                db=app.state.db,
                bus=bus,
                batch_size=batch_size,
                idle_seconds=idle_seconds,
                max_idle_seconds=max_idle_seconds,
                linger=linger,
                stop_event=stop_event(app),
            )
        finally:
            await bus.close()

    return outbox_relay


def member_name(*, prefix: str = "") -> str:
    """A consumer name unique to this process start (a restarted process is a new member; the
    messages its predecessor held come back when their leases run out)."""
    return f"{prefix}{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def event_consumer(
    *, group: str, handlers: Mapping[str, EventHandler], max_messages: int = 10, wait_seconds: float = 1.0
) -> Worker:
    """Apply the events of ``handlers``' types, once each, as member of ``group``."""

    async def event_consumer(app: FastAPI) -> None:
        bus = open_bus(settings=app.state.settings)
        try:
            await run_consumer(
                bus=bus,
                db=app.state.db,
                group=group,
                consumer=member_name(prefix=f"{group}@"),
                handlers=handlers,
                max_messages=max_messages,
                wait_seconds=wait_seconds,
                stop_event=stop_event(app),
            )
        finally:
            await bus.close()

    return event_consumer


def batch_event_consumer(
    *,
    group: str,
    types: Collection[str],
    handler: BatchHandler,
    max_messages: int = 500,
    linger: float = 0.0,
    wait_seconds: float = 1.0,
) -> Worker:
    """Apply the events of ``types``, once each, as member of ``group``, up to ``max_messages``
    per transaction (``batch.consume_events``; ``batch.each_event`` adapts a one-event handler).
    ``linger``: seconds to wait after a batch that was not full, so a trickle still comes in
    batches (``consumer.run_on_bus``)."""

    async def batch_event_consumer(app: FastAPI) -> None:
        bus = open_bus(settings=app.state.settings)
        member = member_name(prefix=f"{group}@")

        async def consume_once(block: float) -> int:
            done = await consume_events(
                bus=bus,
                db=app.state.db,
                group=group,
                consumer=member,
                types=types,
                handler=handler,
                max_messages=max_messages,
                wait_seconds=block,
            )
            return len(done)

        try:
            await run_on_bus(
                f"event_consumer:{group}",
                bus=bus,
                consume_once=consume_once,
                stop_event=stop_event(app),
                wait_seconds=wait_seconds,
                linger=(max_messages, linger),
            )
        finally:
            await bus.close()

    return batch_event_consumer


__all__ = ["batch_event_consumer", "event_consumer", "member_name", "outbox_relay"]
