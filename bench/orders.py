"""The orders saga end to end on real processes (``interchange up --free-ports``, the embedded
SQLite default), with the ERP's call quota set low enough to bite.

A burst of orders is submitted to the orders process API by several concurrent clients; each one
is timed from submission to its 202 (durably recorded), to ``accepted`` (the ERP sales order
booked, the pivot) and to ``released`` (sent to the warehouse for picking: the saga done). The
worker paces its ERP calls just under the quota and honours Retry-After; the ERP's 429s are read
from its /metrics. Bounded: ``ORDERS`` orders and ``DEADLINE`` seconds at most.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
ORDERS = 250
CLIENTS = 16
# ERP calls per second; the saga spends 3 ERP calls per order (quote, credit check, sales order).
ERP_QUOTA = int(os.environ.get("BENCH_ORDERS_ERP_QUOTA", "15"))
DEADLINE = 110.0


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _start(data_dir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")}
    env |= {
        "INTERCHANGE_ERP_CALL_QUOTA_PER_SECOND": str(ERP_QUOTA),
        "INTERCHANGE_ORDERS_ERP_CALLS_PER_SECOND": str(ERP_QUOTA),
        "INTERCHANGE_ORDERS_WORKER_POLL_INTERVAL": "0.5",
        "INTERCHANGE_ORDERS_WORKER_CONCURRENCY": os.environ.get("BENCH_ORDERS_CONCURRENCY", "8"),
    }
    log = (data_dir / "launcher.out").open("ab")
    launcher = subprocess.Popen(
        [sys.executable, "-m", "interchange.cli", "up", "--free-ports", "--data-dir", str(data_dir)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    suite_file = data_dir / "suite.json"
    while time.monotonic() < deadline:
        if launcher.poll() is not None:
            raise RuntimeError(f"the launcher exited; see {data_dir / 'launcher.out'}")
        if suite_file.exists():
            suite = json.loads(suite_file.read_text())
            if all(_ready(u) for u in suite["services"].values()):
                return launcher, suite
        time.sleep(0.25)
    launcher.send_signal(signal.SIGTERM)
    raise RuntimeError("the suite did not get ready")


async def _burst(orders_url: str, token: str) -> dict[str, tuple[float, float]]:
    """Submits every order; returns id -> (submitted, answered 202) in wall-clock seconds."""
    timings: dict[str, tuple[float, float]] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(ORDERS):
        queue.put_nowait(n)
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(
        base_url=orders_url, headers={"Authorization": f"Bearer {token}"}, timeout=60, limits=limits
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                body = {
                    "channel": "b2b",
                    "channel_order_id": f"BENCH-{n}",
                    "customer_id": "C-1001" if n % 2 else "C-1002",
                    "currency": "EUR",
                    "lines": [{"sku": "CABLE-USB-C", "quantity": {"value": "1", "unit": "EA"}}],
                }
                started = time.time()
                resp = await client.post("/v1/orders", json=body, headers={"Idempotency-Key": f"bench:{n}"})
                if resp.status_code == 202:
                    timings[resp.json()["id"]] = (started, time.time())

        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return timings


def _transitions(db: Path) -> dict[str, dict[str, float]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT order_id, to_status, changed_at FROM order_status_history").fetchall()
    found: dict[str, dict[str, float]] = {}
    for order_id, status, at in rows:
        # stored as UTC without an offset by SQLite
        found.setdefault(order_id, {})[status] = (
            datetime.fromisoformat(at).replace(tzinfo=None).timestamp() + _utc_offset()
        )
    return found


def _utc_offset() -> float:
    now = time.time()
    return (datetime.fromtimestamp(now) - datetime.utcfromtimestamp(now)).total_seconds()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _erp_429s(erp_url: str) -> int:
    text = httpx.get(f"{erp_url}/metrics", timeout=5).text
    return sum(
        int(float(m))
        for m in re.findall(r'interchange_http_requests_total\{[^}]*status="429"[^}]*\} ([0-9.e+]+)', text)
    )


def run() -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-orders-"))
    launcher, suite = _start(data_dir)
    try:
        orders_url = suite["services"]["orders"]
        secret = json.loads((data_dir / "secrets.json").read_text())["svc-marketplace"]
        token = httpx.post(
            f"{suite['gateway']}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=("svc-marketplace", secret),
        ).json()["access_token"]
        pids = {name: int(pid) for name, pid in suite["pids"].items()}
        cpu_before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
        began = time.time()
        timings = asyncio.run(_burst(orders_url, token))
        intake_done = time.time()
        settled: dict[str, dict[str, float]] = {}
        while time.time() - began < DEADLINE:
            settled = _transitions(data_dir / "orders.db")
            if all({"released", "rejected", "on_hold"} & set(settled.get(i, {})) for i in timings):
                break
            time.sleep(0.5)
        throttled = _erp_429s(suite["services"]["erp"])
        cpu = {name: round(_cpu_seconds(pid) - cpu_before[name], 1) for name, pid in pids.items()}
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=60)

    to_202 = [(answered - started) * 1000 for started, answered in timings.values()]
    to_accepted = [
        (settled[i]["accepted"] - s) * 1000 for i, (s, _) in timings.items() if "accepted" in settled.get(i, {})
    ]
    to_released = [
        (settled[i]["released"] - s) * 1000 for i, (s, _) in timings.items() if "released" in settled.get(i, {})
    ]
    released_at = [settled[i]["released"] for i in timings if "released" in settled.get(i, {})]
    end = max(released_at) if released_at else time.time()
    intake_rate = len(timings) / (intake_done - began)
    completed_rate = len(released_at) / (end - began) if released_at else 0.0
    rows = [
        {"measure": "submitted -> 202 (recorded)", "orders": len(timings), "per second": intake_rate,
         "p50 ms": _percentile(to_202, 50), "p99 ms": _percentile(to_202, 99)},
        {"measure": "submitted -> accepted (ERP booked)", "orders": len(to_accepted), "per second": None,
         "p50 ms": _percentile(to_accepted, 50), "p99 ms": _percentile(to_accepted, 99)},
        {"measure": "submitted -> released (saga done)", "orders": len(released_at), "per second": completed_rate,
         "p50 ms": _percentile(to_released, 50), "p99 ms": _percentile(to_released, 99)},
    ]  # fmt: skip
    return {
        "title": f"orders saga end to end: {ORDERS} orders, {CLIENTS} clients, ERP quota {ERP_QUOTA} calls/s",
        "rows": rows,
        "erp_quota_per_second": ERP_QUOTA,
        "erp_429_answers": throttled,
        "cpu_seconds_by_service": cpu,
        "notes": [
            f"ERP quota {ERP_QUOTA} calls/s; the saga spends 3 ERP calls per order, so at most "
            f"{ERP_QUOTA / 3:.1f} orders/s can complete; the worker paced itself "
            f"at the quota ({ERP_QUOTA} calls/s; its windows need not line up with the ERP's, so 429s may come).",
            f"ERP answered 429 {throttled} times; orders not released at the end: "
            f"{len(timings) - len(released_at)} (rejected, held or unfinished).",
            "CPU seconds spent per service during the run: " + ", ".join(f"{k} {v}" for k, v in cpu.items()),
            "Real processes on this machine's two cores (client, gateway-less direct calls to the orders API, "
            "orders, ERP, WMS, CRM all share them); read the ratios, not the absolute numbers.",
        ],
    }
