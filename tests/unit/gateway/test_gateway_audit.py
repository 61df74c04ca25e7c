"""The audit log: a record for every proxied call, written by the background writer in batches;
a full queue drops its oldest records and counts them; ``interchange audit`` reads the log;
records past their retention are deleted in batches by the retention worker and ``interchange
audit prune``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import event
from typer.testing import CliRunner

from gateway.audit import (
    COLUMNS,
    SECONDS_PER_DAY,
    AuditEntry,
    AuditLog,
    AuditRetention,
    Row,
    prune_audit,
    query_audit,
    status_range,
)
from gateway.models import Base
from interchange.cli import app as cli
from interchange.commands.audit import parse_since
from service_kit.db import Database
from tests.unit.gateway.conftest import FakeService, Gateway, gateway_settings, running_gateway


def row(i: int, *, client: str = "acme-market", status: int = 200, at: float | None = None) -> Row:
    return (
        at if at is not None else 1_800_000_000.0 + i,
        client,
        client if client.endswith("-market") else None,
        "GET",
        "marketplace",
        "v1",
        "getOrder",
        "/marketplace/v1/orders/{marketplace_order_id}",
        status,
        1.5,
        f"cid-{i}",
    )


async def open_db(tmp_path: Path, *, schema: bool = True) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}", metadata=[Base.metadata])
    if schema:
        await db.create_schema()
    return db


async def test_every_proxied_call_is_recorded(gateway: Gateway, marketplace: FakeService) -> None:
    auth = await gateway.partner_bearer()
    await gateway.client.get("/marketplace/v1/orders/MP-1", headers={**auth, "x-correlation-id": "cid-ok"})
    await gateway.client.get("/marketplace/v1/orders", headers={"x-correlation-id": "cid-anon"})
    await gateway.client.get("/nope/v1/things", headers={**auth, "x-correlation-id": "cid-nope"})
    marketplace.status = 409
    await gateway.client.post("/marketplace/v1/orders", headers={**auth, "x-correlation-id": "cid-409"})

    await gateway.app.state.audit.flush()
    entries = {e.correlation_id: e for e in await query_audit(gateway.app.state.db)}

    ok = entries["cid-ok"]
    assert (ok.client_id, ok.partner_id, ok.method, ok.api, ok.version) == (
        "acme-market",
        "acme-market",
        "GET",
        "marketplace",
        "v1",
    )
    assert (ok.operation, ok.path, ok.status) == ("getOrder", "/marketplace/v1/orders/{marketplace_order_id}", 200)
    assert ok.latency_ms > 0
    assert abs(ok.at - time.time()) < 60
    anonymous = entries["cid-anon"]
    assert (anonymous.client_id, anonymous.operation, anonymous.status) == (None, "listOrders", 401)
    nowhere = entries["cid-nope"]
    assert (nowhere.api, nowhere.operation, nowhere.path, nowhere.status) == ("nope", None, "/nope/v1/things", 404)
    assert entries["cid-409"].status == 409


async def test_the_writer_runs_in_the_background_and_flushes_on_shutdown(tmp_path: Path, contracts_dir: Path) -> None:
    settings = gateway_settings(tmp_path, contracts_dir)
    async with running_gateway(settings) as gw:
        for i in range(5):
            await gw.client.get("/marketplace/v1/orders", headers={"x-correlation-id": f"cid-{i}"})
    # The app is stopped: whatever the writer had not written yet was written before the database closed.

    db = await open_db(tmp_path)
    try:
        entries = await query_audit(db)
    finally:
        await db.dispose()
    assert sorted(e.correlation_id for e in entries) == [f"cid-{i}" for i in range(5)]


async def test_a_full_queue_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    db = await open_db(tmp_path)
    registry = CollectorRegistry()
    audit = AuditLog(db, queue_size=3, batch_size=2, registry=registry)
    try:
        for i in range(5):
            audit.record(row(i))

        assert audit.pending == 3
        assert registry.get_sample_value("interchange_gateway_audit_dropped_total") == 2
        assert registry.get_sample_value("interchange_gateway_audit_queue_depth") == 3
        await audit.flush()
        kept = sorted(e.correlation_id for e in await query_audit(db))
    finally:
        await db.dispose()

    assert kept == ["cid-2", "cid-3", "cid-4"]
    assert registry.get_sample_value("interchange_gateway_audit_written_total") == 3


async def test_a_database_that_refuses_a_batch_is_counted_not_raised(tmp_path: Path) -> None:
    db = await open_db(tmp_path, schema=False)  # no table to write to
    registry = CollectorRegistry()
    audit = AuditLog(db, queue_size=10, batch_size=10, registry=registry)
    try:
        audit.record(row(1))
        await audit.flush()
    finally:
        await db.dispose()

    assert audit.pending == 0
    assert registry.get_sample_value("interchange_gateway_audit_write_failures_total") == 1


async def test_the_writer_task_drains_what_is_queued(tmp_path: Path) -> None:
    db = await open_db(tmp_path)
    audit = AuditLog(db, queue_size=100, batch_size=4, registry=CollectorRegistry())
    writer = asyncio.create_task(audit.run())
    try:
        for i in range(10):
            audit.record(row(i))
        await audit.flush()  # waits for the batch the writer is on, then writes the rest
        written = await query_audit(db, limit=100)
    finally:
        writer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writer
        await db.dispose()

    assert len(written) == 10


async def test_a_batch_goes_in_a_few_multi_row_inserts_each_row_intact(tmp_path: Path) -> None:
    # Not executemany: sqlite3 would release and retake the GIL around every row (audit.py).
    db = await open_db(tmp_path)
    inserts: list[tuple[bool, int]] = []

    def seen(_c: object, _cur: object, statement: str, parameters: object, _ctx: object, many: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append((many, statement.count("(?,")))

    event.listen(db.engine.sync_engine, "after_cursor_execute", seen)
    audit = AuditLog(db, queue_size=1000, batch_size=500, registry=CollectorRegistry())
    rows = [row(i, client="zenith-market" if i % 3 else "ops-console", status=200 + i % 7) for i in range(300)]
    try:
        for r in rows:
            audit.record(r)
        await audit.flush()
        written = await query_audit(db, limit=1000)
    finally:
        await db.dispose()

    assert inserts == [(False, 128), (False, 128), (False, 32), (False, 8), (False, 4)]
    assert sorted(tuple(getattr(e, c) for c in COLUMNS) for e in written) == sorted(rows)


async def test_queries_filter_by_client_partner_status_and_time(tmp_path: Path) -> None:
    db = await open_db(tmp_path)
    audit = AuditLog(db, queue_size=100, batch_size=100, registry=CollectorRegistry())
    audit.record(row(1, client="acme-market", status=200, at=1000.0))
    audit.record(row(2, client="acme-market", status=404, at=2000.0))
    audit.record(row(3, client="zenith-market", status=429, at=3000.0))
    audit.record(row(4, client="ops-console", status=502, at=4000.0))
    await audit.flush()
    try:

        async def ids(**filters: object) -> list[str]:
            return [e.correlation_id for e in await query_audit(db, **filters)]  # type: ignore[arg-type]

        assert await ids() == ["cid-4", "cid-3", "cid-2", "cid-1"]  # newest first
        assert await ids(client_id="acme-market") == ["cid-2", "cid-1"]
        assert await ids(partner_id="zenith-market") == ["cid-3"]
        assert await ids(status="4xx") == ["cid-3", "cid-2"]
        assert await ids(status="502") == ["cid-4"]
        assert await ids(since=2500.0) == ["cid-4", "cid-3"]
        assert await ids(limit=1) == ["cid-4"]
    finally:
        await db.dispose()


def test_status_and_since_parsing() -> None:
    assert status_range("4xx") == (400, 499)
    assert status_range("201") == (201, 201)
    with pytest.raises(ValueError):
        status_range("4x")
    assert parse_since("15m", now=10_000.0) == 10_000.0 - 900
    assert parse_since("2h", now=10_000.0) == 10_000.0 - 7200
    assert parse_since("1970-01-01T01:00:00") == 3600.0


NOW = 1_800_000_000.0
DAY = SECONDS_PER_DAY


async def seed(db: Database, ages_in_days: list[float]) -> None:
    audit = AuditLog(db, queue_size=len(ages_in_days), batch_size=1000, registry=CollectorRegistry())
    for i, age in enumerate(ages_in_days):
        audit.record(row(i, at=NOW - age * DAY))
    await audit.flush()


class Statements:
    """The DELETE statements the database ran, and how many rows each removed."""

    def __init__(self, db: Database) -> None:
        self.deleted: list[int] = []
        event.listen(db.engine.sync_engine, "after_cursor_execute", self._after)

    def _after(self, _conn: object, cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            self.deleted.append(cursor.rowcount)  # type: ignore[attr-defined]


async def test_pruning_deletes_only_what_is_older_than_the_cutoff_in_bounded_batches(tmp_path: Path) -> None:
    db = await open_db(tmp_path)
    try:
        await seed(db, [200.0] * 7 + [91.0] * 4 + [89.0, 1.0, 0.0])
        statements = Statements(db)

        removed = await prune_audit(db, before=NOW - 90 * DAY, batch_size=5)
        kept = await query_audit(db, limit=100)
    finally:
        await db.dispose()

    assert removed == 11
    assert statements.deleted == [5, 5, 1]  # never more than a batch per statement (and transaction)
    assert sorted(e.correlation_id for e in kept) == ["cid-11", "cid-12", "cid-13"]


async def test_the_retention_worker_prunes_at_start_and_counts_what_it_removed(tmp_path: Path) -> None:
    db = await open_db(tmp_path)
    registry = CollectorRegistry()
    retention = AuditRetention(db, retention_days=30, interval=3600, batch_size=2, registry=registry, clock=lambda: NOW)
    try:
        await seed(db, [45.0, 31.0, 31.0, 29.0])
        stop = asyncio.Event()
        worker = asyncio.create_task(retention.run(stop_event=stop))
        # The first prune runs at once; the worker then sleeps for the interval.
        await retention.passed.wait()
        assert registry.get_sample_value("interchange_gateway_audit_pruned_total") == 3
        assert not worker.done()
        stop.set()
        await worker  # returns by itself, between two passes
        kept = [e.correlation_id for e in await query_audit(db)]
    finally:
        await db.dispose()

    assert kept == ["cid-3"]


async def test_a_prune_the_database_refuses_is_logged_not_raised(tmp_path: Path) -> None:
    db = await open_db(tmp_path, schema=False)  # no table to delete from
    retention = AuditRetention(
        db, retention_days=1, interval=3600, batch_size=10, registry=CollectorRegistry(), clock=lambda: NOW
    )
    try:
        assert await retention.prune() == 0
    finally:
        await db.dispose()


async def test_the_gateway_runs_the_retention_from_its_settings(tmp_path: Path, contracts_dir: Path) -> None:
    db = await open_db(tmp_path)
    now = time.time()
    audit = AuditLog(db, queue_size=10, batch_size=10, registry=CollectorRegistry())
    audit.record(row(1, at=now - 8 * DAY))
    audit.record(row(2, at=now - 6 * DAY))
    await audit.flush()
    await db.dispose()

    settings = gateway_settings(tmp_path, contracts_dir, audit_retention_days=7, audit_prune_batch_size=1)
    async with running_gateway(settings) as gw:
        await gw.app.state.audit_retention.passed.wait()  # the worker's prune at start-up
        assert gw.app.state.registry.get_sample_value("interchange_gateway_audit_pruned_total") == 1
        kept = [e.correlation_id for e in await query_audit(gw.app.state.db)]

    assert kept == ["cid-2"]


async def kept(tmp_path: Path) -> list[AuditEntry]:
    db = await open_db(tmp_path, schema=False)
    try:
        return await query_audit(db)
    finally:
        await db.dispose()


def test_the_cli_prunes_on_demand_and_says_how_many(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def seed_now() -> None:
        db = await open_db(tmp_path)
        audit = AuditLog(db, queue_size=10, batch_size=10, registry=CollectorRegistry())
        for i, age in enumerate([100.0, 95.0, 40.0, 10.0]):
            audit.record(row(i, at=time.time() - age * DAY))
        await audit.flush()
        await db.dispose()

    asyncio.run(seed_now())
    monkeypatch.delenv("INTERCHANGE_GATEWAY_DATABASE_URL", raising=False)
    monkeypatch.delenv("INTERCHANGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("INTERCHANGE_GATEWAY_AUDIT_RETENTION_DAYS", raising=False)
    runner = CliRunner()

    default = runner.invoke(cli, ["audit", "prune", "--data-dir", str(tmp_path)], env={"COLUMNS": "200"})
    narrower = runner.invoke(
        cli, ["audit", "prune", "--older-than-days", "30", "--data-dir", str(tmp_path)], env={"COLUMNS": "200"}
    )
    bad = runner.invoke(cli, ["audit", "prune", "--older-than-days", "0", "--data-dir", str(tmp_path)])

    assert default.exit_code == 0, default.output
    assert "removed 2 audit records older than 90 days" in default.output
    assert "time (UTC)" not in default.output  # prune does not list the log first
    assert narrower.exit_code == 0, narrower.output
    assert "removed 1 audit record older than 30 days" in narrower.output
    assert [e.correlation_id for e in asyncio.run(kept(tmp_path))] == ["cid-3"]
    assert bad.exit_code != 0
