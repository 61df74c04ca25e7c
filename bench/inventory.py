"""Inventory propagation: how many stock movements per second the pipeline absorbs (WMS receipt
-> outbox -> event log -> inventory consumer -> projection -> availability.changed), the lag from
a movement to the availability event, CPU per movement of each service, and the suite's idle CPU.

Real processes on the embedded default (``interchange up --free-ports`` on a temporary data
directory, SQLite event log); a dedicated internal client drives WMS receipts straight at the WMS
over loopback (aiohttp, in this process), ``LINES`` SKUs per receipt, so one receipt is ``LINES``
movements. Phases (issue 8's scenarios):

- *idle*: the whole suite, seeded and warm, doing nothing for ``IDLE_SECONDS``;
- *paced*: ``PACED_RATE`` movements per second for ``PACED_SECONDS`` (the lag a channel sees in
  normal operation, which includes the 250 ms coalescing window by design);
- *burst*: ``BURST_MOVEMENTS`` as fast as the WMS takes them (throughput; every channel settled:
  the last availability event out, nothing pending, and a reconciliation finds no drift);
- *profile*: a second, smaller burst with py-spy on the inventory process (a run of its own:
  sampling slows the process, so no figure comes from it).

``BENCH_INVENTORY_SCALE`` (default 1) scales every count and rate, to develop on a busy machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import statistics
import tempfile
import time
from bisect import bisect_left
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from bench._load import cpu_of
from bench._profile import SERVICE_RULES, buckets, sample
from bench._targets import target
from bench.gateway import suite

SCALE = float(os.environ.get("BENCH_INVENTORY_SCALE", "1"))
SKUS = 40
LINES = 10  # movements (distinct SKUs) per receipt
PACED_RATE = 500.0 * SCALE  # movements per second
PACED_SECONDS = 10.0
BURST_MOVEMENTS = int(10_000 * SCALE)
PROFILE_MOVEMENTS = int(5_000 * SCALE)
CONCURRENCY = 16
IDLE_SECONDS = 10.0
DRAIN_TIMEOUT = 240.0
MOVED = "com.interchange.stock.moved.v1"
AVAILABILITY = "com.interchange.availability.changed.v1"


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
                scopes=[scopes.WMS_WRITE, scopes.WMS_READ, scopes.INVENTORY_READ, scopes.INVENTORY_WRITE],
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
    first = (n * LINES) % SKUS
    return {
        "reference": f"BENCH-{phase}-{n}",
        "warehouse": "AMS" if n % 3 else "RTM",
        "lines": [
            {"sku": f"BENCH-{(first + i) % SKUS:03d}", "quantity": {"value": "1", "unit": "EA"}} for i in range(LINES)
        ],
    }


async def _drive(wms: str, token: str, *, phase: str, receipts: int, rate: float | None) -> tuple[float, float, int]:
    """Send ``receipts`` (paced at ``rate`` receipts per second, or flat out); (start, end, errors)."""
    errors = 0
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(base_url=wms, headers=headers, connector=connector) as client:
        queue: asyncio.Queue[int] = asyncio.Queue()
        start = time.time()

        async def worker() -> None:
            nonlocal errors
            while True:
                n = await queue.get()
                try:
                    async with client.post("/v1/receipts", json=_receipt(n, phase)) as resp:
                        await resp.read()
                        errors += resp.status != 201
                except aiohttp.ClientError:
                    errors += 1
                finally:
                    queue.task_done()

        workers = [asyncio.create_task(worker()) for _ in range(CONCURRENCY)]
        for n in range(receipts):
            if rate:
                await asyncio.sleep(max(0.0, start + n / rate - time.time()))
            queue.put_nowait(n)
        await queue.join()
        end = time.time()
        for task in workers:
            task.cancel()
    return start, end, errors


def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def _head(data_dir: Path) -> int:
    with _ro(data_dir / "events.db") as db:
        return int(db.execute("SELECT COALESCE(MAX(log_offset), 0) FROM event_log").fetchone()[0])


def _drained(data_dir: Path, since_offset: int) -> bool:
    """Every stock.moved since ``since_offset`` consumed by inventory, nothing due, outbox empty."""
    with _ro(data_dir / "events.db") as events:
        (head,) = events.execute(
            "SELECT COALESCE(MAX(log_offset), 0) FROM event_log WHERE type = ?", (MOVED,)
        ).fetchone()
        row = events.execute("SELECT committed FROM consumer_groups WHERE name = 'inventory'").fetchone()
        if not (row and head > since_offset and row[0] >= head):
            return False
    with _ro(data_dir / "inventory.db") as inventory:
        (due,) = inventory.execute("SELECT COUNT(*) FROM inv_channel_availability WHERE due_at IS NOT NULL").fetchone()
        (unsent,) = inventory.execute("SELECT COUNT(*) FROM event_outbox WHERE published_at IS NULL").fetchone()
    return due == 0 and unsent == 0


def _wait_drained(data_dir: Path, since_offset: int) -> float:
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline:
        if _drained(data_dir, since_offset):
            return time.time()
        time.sleep(0.05)
    raise RuntimeError("the pipeline did not drain in time")


def _events(
    data_dir: Path, after_offset: int
) -> tuple[list[tuple[float, str]], list[dict[str, Any]], dict[str, float]]:
    """The phase's movements (occurred_at, sku), availability events (with appended_at), and per
    movement the seconds from occurred_at to appended to the log and to applied by inventory."""
    moves: list[tuple[float, str]] = []
    published: list[dict[str, Any]] = []
    to_log: list[float] = []
    occurred: dict[str, float] = {}
    with _ro(data_dir / "events.db") as db:
        rows = db.execute(
            "SELECT type, envelope, appended_at FROM event_log WHERE log_offset > ? AND type IN (?, ?) "
            "ORDER BY log_offset",
            (after_offset, MOVED, AVAILABILITY),
        ).fetchall()
    for kind, envelope, appended_at in rows:
        event = json.loads(envelope)
        data = event["data"]
        if not data["sku"].startswith("BENCH-"):
            continue
        if kind == MOVED:
            at = datetime.fromisoformat(data["occurred_at"]).timestamp()
            moves.append((at, data["sku"]))
            to_log.append(appended_at - at)
            occurred[event["id"]] = at
        elif data.get("as_of"):
            as_of = datetime.fromisoformat(data["as_of"]).timestamp()
            published.append(data | {"appended_at": appended_at, "as_of_ts": as_of})
    with _ro(data_dir / "inventory.db") as db:
        applied = db.execute("SELECT event_id, processed_at FROM processed_events WHERE consumer_group = 'inventory'")
        to_projection = [_ts(at) - occurred[eid] for eid, at in applied if eid in occurred]
    return moves, published, {"to_log": to_log, "to_projection": to_projection}


def _ts(stored: str) -> float:
    """A timestamp as SQLAlchemy stores it in SQLite (ISO, naive UTC)."""
    moment = datetime.fromisoformat(stored)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _lags(moves: list[tuple[float, str]], published: list[dict[str, Any]]) -> dict[str, list[float]]:
    """``staleness``: per availability event, appended - as_of (the newest movement it reflects; the
    figure issue 8's 'before' was measured with). ``movement``: per movement, until the first b2b
    event reflecting it (b2b takes every warehouse uncapped, so every receipt changes its figure);
    this one includes the wait for b2b's throttle (20 events/s shared by all SKUs)."""
    staleness = [e["appended_at"] - e["as_of_ts"] for e in published]
    by_channel: dict[str, list[float]] = defaultdict(list)
    for e in published:
        by_channel[e["channel"]].append(e["appended_at"] - e["as_of_ts"])
    b2b: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for e in published:
        if e["channel"] == "b2b":
            b2b[e["sku"]].append((e["as_of_ts"], e["appended_at"]))
    movement = []
    for occurred, sku in moves:
        seen = sorted(b2b.get(sku, []))
        i = bisect_left(seen, (occurred - 1e-6, 0.0))
        if i < len(seen):
            movement.append(min(a for _, a in seen[i:]) - occurred)
    return {"staleness": staleness, "movement": movement} | {f"staleness {c}": v for c, v in by_channel.items()}


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(values: list[float], q: float) -> float | None:
    found = statistics.median(values) if q == 0.5 and values else _pct(values, q)
    return None if found is None else round(1000 * found, 1)


def _reconcile(inventory: str, token: str) -> int:
    """Drift rows for the bench's SKUs (told differs from the WMS's truth), without repair."""
    resp = httpx.post(
        f"{inventory}/v1/reconciliations",
        json={"repair": False},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    resp.raise_for_status()
    return sum(1 for d in resp.json()["drift"] if d["sku"].startswith("BENCH-"))


def _phase(info: dict[str, Any], token: str, *, name: str, movements: int, rate: float | None) -> dict[str, Any]:
    data_dir = Path(info["data_dir"])
    pids = dict(info["pids"])
    offset = _head(data_dir)
    before = cpu_of(pids.values())
    receipts = max(1, movements // LINES)
    rate_receipts = None if rate is None else rate / LINES
    start, sent, errors = asyncio.run(
        _drive(info["services"]["wms"], token, phase=name, receipts=receipts, rate=rate_receipts)
    )
    drained = _wait_drained(data_dir, offset)
    after = cpu_of(pids.values())
    moves, published, pipeline = _events(data_dir, offset)
    lags = _lags(moves, published)
    settled = max((e["appended_at"] for e in published), default=drained)
    count = receipts * LINES
    cpu = {service: round((after[pid] - before[pid]) * 1e6 / count) for service, pid in pids.items()}
    return {
        "phase": name,
        "movements": count,
        "errors": errors,
        "wms accepted/s": round(count / (sent - start)),
        "absorbed/s": round(len(moves) / (drained - start)),
        "availability events": len(published),
        "staleness p50 ms": _ms(lags["staleness"], 0.5),
        "staleness p99 ms": _ms(lags["staleness"], 0.99),
        "movement->log p99 ms": _ms(pipeline["to_log"], 0.99),
        "movement->projection p50 ms": _ms(pipeline["to_projection"], 0.5),
        "movement->projection p99 ms": _ms(pipeline["to_projection"], 0.99),
        "movement->b2b p50 ms": _ms(lags["movement"], 0.5),
        "movement->b2b p99 ms": _ms(lags["movement"], 0.99),
        "settled s": round(settled - start, 2),
        "CPU µs/movement wms": cpu.get("wms"),
        "CPU µs/movement inventory": cpu.get("inventory"),
        "CPU µs/movement all": sum(cpu.values()),
        "_cpu": cpu,
        "_staleness_p99_ms": {
            key.removeprefix("staleness "): _ms(values, 0.99)
            for key, values in lags.items()
            if key.startswith("staleness ")
        },
    }


def _idle(info: dict[str, Any]) -> dict[str, float]:
    """Percent of one core each service uses while nothing happens."""
    pids = dict(info["pids"])
    before = cpu_of(pids.values())
    time.sleep(IDLE_SECONDS)
    after = cpu_of(pids.values())
    return {service: round(100 * (after[pid] - before[pid]) / IDLE_SECONDS, 2) for service, pid in pids.items()}


def _profile(info: dict[str, Any], token: str) -> dict[str, float] | None:
    """py-spy on the inventory process while a burst goes through it."""
    pid = int(info["pids"]["inventory"])
    receipts = max(1, PROFILE_MOVEMENTS // LINES)
    with ThreadPoolExecutor(1) as pool:
        spied = pool.submit(sample, pid, 6.0)
        asyncio.run(_drive(info["services"]["wms"], token, phase="profile", receipts=receipts, rate=None))
        collapsed = spied.result()
    return buckets(collapsed, SERVICE_RULES) if collapsed else None


def run() -> dict[str, Any]:
    load_average = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as tmp, suite(Path(tmp) / "suite") as info:
        data_dir = Path(info["data_dir"])
        token = _token(info)
        _phase(info, token, name="warm", movements=20 * LINES, rate=None)
        idle = _idle(info)
        paced = _phase(info, token, name="paced", movements=int(PACED_RATE * PACED_SECONDS), rate=PACED_RATE)
        burst = _phase(info, token, name="burst", movements=BURST_MOVEMENTS, rate=None)
        drift = _reconcile(info["services"]["inventory"], token)
        profile = _profile(info, token)
        _wait_drained(data_dir, 0)
    suite_idle = round(sum(idle.values()), 2)
    rows = [{k: v for k, v in row.items() if not k.startswith("_")} for row in (paced, burst)]
    return {
        "title": "Inventory: WMS receipts -> stock.moved -> projection -> availability.changed (embedded SQLite log)",
        "rows": rows,
        "notes": [
            f"scale {SCALE:g}: paced {PACED_RATE:.0f} movements/s for {PACED_SECONDS:.0f} s; burst {BURST_MOVEMENTS} "
            f"movements; {LINES} SKUs per receipt, {SKUS} SKUs, {CONCURRENCY} concurrent; default channel rules "
            "(throttles: marketplace 5/s, storefront and b2b 20/s, each shared by all SKUs)",
            f"load average before the run {load_average[0]:.1f} on {os.cpu_count()} cores",
            "absorbed/s: movements / (first receipt sent -> inventory consumed them all, nothing due, outbox empty)",
            "staleness: availability.changed appended - the newest movement it reflects (as_of); movement->b2b: "
            "each movement to the first b2b event reflecting it (includes b2b's 20/s throttle over all SKUs)",
            "movement->log: occurred_at (WMS) -> appended to the event log (WMS outbox relay); movement->projection: "
            "-> applied by the inventory consumer; staleness p99 per channel, paced: "
            + ", ".join(f"{k} {v} ms" for k, v in paced["_staleness_p99_ms"].items())
            + "; burst: "
            + ", ".join(f"{k} {v} ms" for k, v in burst["_staleness_p99_ms"].items()),
            "settled: first receipt -> the last availability.changed of the phase (then nothing pending); "
            f"drift after the burst (reconciliation, bench SKUs): {drift}",
            "CPU µs per movement: user + system time from /proc over the phase / movements; all services: "
            + ", ".join(f"{k} {v}" for k, v in burst["_cpu"].items() if v),
            f"idle CPU, % of one core over {IDLE_SECONDS:.0f} s: suite {suite_idle}; "
            + ", ".join(f"{k} {v}" for k, v in sorted(idle.items(), key=lambda kv: -kv[1])),
            "where inventory's CPU goes in a burst (py-spy, % of busy samples of its main thread): "
            + (", ".join(f"{k} {v}" for k, v in profile.items()) if profile else "py-spy is not installed"),
        ],
        "profiles": {"inventory": profile},
        "idle": idle,
        "targets": [
            target("stock movements absorbed (burst)", burst["absorbed/s"], unit="/s", at_least=1000, before="57/s"),
            target(
                f"p99 movement -> availability.changed at {PACED_RATE:.0f}/s paced",
                paced["staleness p99 ms"] and paced["staleness p99 ms"] / 1000,
                unit="s",
                at_most=2,
                before="2.7 s at 20/s",
            ),
            target(
                f"{BURST_MOVEMENTS:,} burst settled on every channel (no drift)",
                burst["settled s"] if drift == 0 else None,
                unit="s",
                at_most=15,
                before="p99 6.3 s in a 2,000 burst",
            ),
            target("whole suite idle", suite_idle, unit="% of a core", at_most=2, before="~15%"),
            target("inventory idle", idle.get("inventory"), unit="% of a core", at_most=2, before="~7.6%"),
        ],
        "settings": {
            "scale": SCALE,
            "paced_rate": PACED_RATE,
            "paced_seconds": PACED_SECONDS,
            "burst": BURST_MOVEMENTS,
            "lines": LINES,
            "skus": SKUS,
        },
    }
