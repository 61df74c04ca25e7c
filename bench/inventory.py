"""Inventory propagation: how many stock movements per second the pipeline absorbs (WMS receipt
-> outbox -> event log -> inventory consumer -> projection -> availability.changed), and the lag
from a movement (its ``occurred_at``) to the availability event appended to the bus.

Real processes on the embedded default (``interchange up --free-ports`` on a temporary data
directory, SQLite event log); a dedicated internal client with ``wms:write`` drives receipts
straight at the WMS over loopback. Two phases: *paced* (a steady trickle on many SKUs: the lag a
channel sees in normal operation, which includes the 250 ms coalescing window by design) and
*burst* (as fast as the WMS takes them: throughput, and the lag under a backlog). Bounded: about a
minute plus start-up.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.gateway import suite

PACED_RATE = 20.0  # movements per second
PACED_SECONDS = 8.0
BURST_MOVEMENTS = 2000
BURST_CONCURRENCY = 16
SKUS = 40
DRAIN_TIMEOUT = 60.0


def _token(info: dict[str, Any]) -> str:
    from contracts import scopes
    from gateway.clients import create_client
    from gateway.models import Base
    from service_kit.db import Database

    data_dir = Path(info["data_dir"])

    async def register() -> tuple[str, str]:
        db = Database(f"sqlite+aiosqlite:///{data_dir / 'gateway.db'}", metadata=[Base.metadata])
        try:
            return await create_client(
                db,
                client_id="bench-stock",
                kind="internal",
                scopes=[scopes.WMS_WRITE, scopes.WMS_READ, scopes.INVENTORY_READ],
                tier="internal",
            )
        finally:
            await db.dispose()

    client_id, secret = asyncio.run(register())
    resp = httpx.post(
        f"{info['services']['gateway']}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=10,
    )
    resp.raise_for_status()
    return str(resp.json()["access_token"])


def _receipt(n: int, phase: str) -> dict[str, Any]:
    return {
        "reference": f"BENCH-{phase}-{n}",
        "warehouse": "AMS" if n % 3 else "RTM",
        "lines": [{"sku": f"BENCH-{n % SKUS:03d}", "quantity": {"value": "1", "unit": "EA"}}],
    }


async def _drive(wms: str, token: str, *, phase: str, count: int, rate: float | None) -> tuple[float, float, int]:
    """Send ``count`` receipts (paced at ``rate`` per second, or flat out); (start, end, errors)."""
    errors = 0
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=BURST_CONCURRENCY)
    async with httpx.AsyncClient(base_url=wms, headers=headers, limits=limits, timeout=30) as client:
        queue: asyncio.Queue[int] = asyncio.Queue()
        start = time.time()

        async def worker() -> None:
            nonlocal errors
            while True:
                n = await queue.get()
                try:
                    resp = await client.post("/v1/receipts", json=_receipt(n, phase))
                    errors += resp.status_code != 201
                except httpx.HTTPError:
                    errors += 1
                finally:
                    queue.task_done()

        workers = [asyncio.create_task(worker()) for _ in range(BURST_CONCURRENCY)]
        for n in range(count):
            if rate:
                await asyncio.sleep(max(0.0, start + n / rate - time.time()))
            queue.put_nowait(n)
        await queue.join()
        end = time.time()
        for task in workers:
            task.cancel()
    return start, end, errors


def _log(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{data_dir / 'events.db'}?mode=ro", uri=True, timeout=30)


def _wait_consumed(data_dir: Path, since_offset: int) -> float:
    """Until the inventory group has taken every stock.moved event and nothing is due; the time."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    with _log(data_dir) as db:
        while time.monotonic() < deadline:
            (head,) = db.execute(
                "SELECT COALESCE(MAX(log_offset), 0) FROM event_log WHERE type = 'com.interchange.stock.moved.v1'"
            ).fetchone()
            row = db.execute("SELECT committed FROM consumer_groups WHERE name = 'inventory'").fetchone()
            if row and head > since_offset and row[0] >= head:
                return time.time()
            time.sleep(0.02)
    raise RuntimeError("the inventory consumer did not catch up in time")


def _lags(data_dir: Path, after_offset: int) -> list[float]:
    """Seconds from each availability event's ``as_of`` (the movement) to its append to the log."""
    with _log(data_dir) as db:
        rows = db.execute(
            "SELECT envelope, appended_at FROM event_log WHERE log_offset > ? "
            "AND type = 'com.interchange.availability.changed.v1'",
            (after_offset,),
        ).fetchall()
    lags = []
    for envelope, appended_at in rows:
        as_of = json.loads(envelope)["data"].get("as_of")
        if as_of:
            lags.append(appended_at - datetime.fromisoformat(as_of).timestamp())
    return lags


def _head(data_dir: Path) -> int:
    with _log(data_dir) as db:
        return int(db.execute("SELECT COALESCE(MAX(log_offset), 0) FROM event_log").fetchone()[0])


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _phase(data_dir: Path, wms: str, token: str, *, name: str, count: int, rate: float | None) -> dict[str, Any]:
    offset = _head(data_dir)
    start, sent, errors = asyncio.run(_drive(wms, token, phase=name, count=count, rate=rate))
    consumed = _wait_consumed(data_dir, offset)
    time.sleep(1.5)  # let the last coalescing windows close and the throttles drain
    lags = _lags(data_dir, offset)
    return {
        "phase": name,
        "movements": count,
        "errors": errors,
        "wms_accepted_per_s": count / (sent - start),
        "absorbed_per_s": count / (consumed - start),
        "availability_events": len(lags),
        "lag_p50_ms": None if not lags else 1000 * statistics.median(lags),
        "lag_p99_ms": None if not lags else 1000 * (_pct(lags, 0.99) or 0.0),
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as tmp, suite(Path(tmp) / "suite") as info:
        data_dir = Path(info["data_dir"])
        token = _token(info)
        wms = info["services"]["wms"]
        paced = _phase(data_dir, wms, token, name="paced", count=int(PACED_RATE * PACED_SECONDS), rate=PACED_RATE)
        burst = _phase(data_dir, wms, token, name="burst", count=BURST_MOVEMENTS, rate=None)
    rows = [paced, burst]
    return {
        "title": "Inventory: WMS receipts -> stock.moved -> projection -> availability.changed (embedded SQLite log)",
        "rows": rows,
        "notes": [
            f"paced: {PACED_RATE:.0f} receipts/s for {PACED_SECONDS:.0f} s over {SKUS} SKUs; burst: "
            f"{BURST_MOVEMENTS} receipts, {BURST_CONCURRENCY} concurrent",
            "absorbed_per_s: movements / (first request -> inventory consumer caught up)",
            "lag: movement occurred_at -> availability.changed appended to the event log; includes the "
            "250 ms coalescing window and the per-channel throttle",
        ],
    }
