"""The delivery worker on the worker runtime: idle for an hour, it still sends a delivery at once
when one is queued (``queue_event`` wakes it after its commit), and stops between two passes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from service_kit.db import Database
from service_kit.http import RoutingTransport
from service_kit.secrets import SecretBox
from service_kit.webhooks import WebhookPolicy, WebhooksBase, queue_event, register_subscription, run_delivery_worker
from service_kit.webhooks.delivery import WEBHOOK_DELIVERIES
from service_kit.workers import wakeup_for

HOUR = 3600.0


async def until(check: Callable[[], bool]) -> None:
    """Polls ``check()`` until it is true (a bounded loop, not a timing claim)."""
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("still not true after 10 s")


async def test_an_idle_delivery_worker_sends_a_queued_delivery_at_once(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hooks.db'}", metadata=[WebhooksBase.metadata])
    await db.create_schema()
    received: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(204)

    policy = WebhookPolicy(
        allowlist=frozenset({"receiver.test"}),
        box=SecretBox(key_file=tmp_path / "secrets.key"),
        poll_seconds=HOUR,
        max_idle_seconds=HOUR,
    )
    async with db.transaction() as session:
        await register_subscription(
            session=session,
            owner="acme",
            url="http://receiver.test/hooks",
            event_types=["availability.changed"],
            description=None,
            policy=policy,
        )
    stop = asyncio.Event()
    transport = RoutingTransport({"receiver.test": httpx.MockTransport(receive)})
    async with httpx.AsyncClient(transport=transport) as http:
        worker = asyncio.create_task(run_delivery_worker(db=db, http=http, policy=policy, stop_event=stop))
        wakeup = wakeup_for(db=db, topic=WEBHOOK_DELIVERIES)
        await until(lambda: wakeup.waiting > 0)  # its first pass found nothing: idle for an hour
        async with db.transaction() as session:
            await queue_event(
                session=session,
                owner="acme",
                event_type="availability.changed",
                event_id="evt-1",
                data={"seller_sku": "ACME-WB", "available": "7"},
                occurred_at=datetime.now(UTC),
            )
        await until(lambda: len(received) == 1)
        stop.set()
        await worker
    assert not worker.cancelled()
    await db.dispose()
