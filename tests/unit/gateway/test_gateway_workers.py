"""The gateway's background work on the kit's worker runtime: the audit writer sleeps until a
record arrives (no flush needed to get it written) and stops between two batches, leaving nothing
behind; the retention worker stops without being cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from prometheus_client import CollectorRegistry

from gateway.audit import AuditLog, AuditRetention, query_audit
from tests.unit.gateway.test_gateway_audit import open_db, row


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(1000):  # bounded polling, not a timing claim
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("still not true after 10 s")


async def test_an_idle_audit_writer_writes_a_record_when_it_arrives_and_stops_cleanly(tmp_path: Path) -> None:
    db = await open_db(tmp_path)
    audit = AuditLog(db, queue_size=100, batch_size=4, registry=CollectorRegistry())
    stop = asyncio.Event()
    writer = asyncio.create_task(audit.run(stop_event=stop))
    try:
        audit.record(row(1))

        async def written() -> bool:
            return len(await query_audit(db, limit=10)) == 1

        await until(written)
        for i in range(2, 8):
            audit.record(row(i))
        stop.set()
        await writer  # returns by itself: no cancellation inside a batch
        assert not writer.cancelled()
        await audit.flush()  # the app's shutdown hook: what the writer left
        assert len(await query_audit(db, limit=10)) == 7
    finally:
        await db.dispose()


async def test_the_retention_worker_stops_between_two_prunes(tmp_path: Path) -> None:
    db = await open_db(tmp_path)
    retention = AuditRetention(db, retention_days=30, interval=3600, batch_size=2, registry=CollectorRegistry())
    stop = asyncio.Event()
    worker = asyncio.create_task(retention.run(stop_event=stop))
    try:
        await retention.passed.wait()
        stop.set()
        await worker
        assert not worker.cancelled()
    finally:
        await db.dispose()
