"""Helpers shared by the benchmarks: a load generator, process CPU time, free ports.

``load(url, ...)`` runs ``wrk`` (C, event-driven: on these two cores it costs a few µs of CPU per
request, so it is not what limits the rate) with a Lua script that sets the headers and prints
one JSON summary. Without wrk it falls back to several processes of aiohttp clients, which cost
far more CPU per request (about as much as a small Python service): results then understate what
the servers can do, and say so (``tool``).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import resource
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

_WRK_SCRIPT = """
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {{"requests": %d, "duration_us": %d, "errors": %d, "bad_status": %d, '
    .. '"p50_us": %d, "p99_us": %d, "mean_us": %.1f}}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


@dataclass(frozen=True)
class LoadResult:
    tool: str
    seconds: float
    requests: int
    errors: int  # connect, read, write errors and timeouts
    bad_status: int  # answers with a status of 400 or more
    p50_ms: float
    p99_ms: float
    #: CPU time the load generator itself used (user + system).
    client_cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"requests_per_second": round(self.rate, 1)}


def load(
    url: str, *, headers: Mapping[str, str], seconds: float, connections: int = 64, threads: int = 2
) -> LoadResult:
    """GET ``url`` with ``connections`` keep-alive connections for ``seconds``."""
    before = _children_cpu()
    if shutil.which("wrk"):
        result = _wrk(url, headers=headers, seconds=seconds, connections=connections, threads=threads)
    else:
        result = _aiohttp(url, headers=headers, seconds=seconds, connections=connections, processes=threads)
    return LoadResult(**result, client_cpu_seconds=_children_cpu() - before)


def load_tool() -> str:
    return "wrk" if shutil.which("wrk") else "aiohttp (wrk not installed: apt-get install wrk)"


def _wrk(url: str, *, headers: Mapping[str, str], seconds: float, connections: int, threads: int) -> dict[str, Any]:
    lines = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT.format(headers=lines))
    try:
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
        done = subprocess.run(
            [*command, "-s", script.name, url],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
    finally:
        os.unlink(script.name)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH-JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    summary = json.loads(line.removeprefix("BENCH-JSON "))
    return {
        "tool": "wrk",
        "seconds": summary["duration_us"] / 1e6,
        "requests": summary["requests"],
        "errors": summary["errors"],
        "bad_status": summary["bad_status"],
        "p50_ms": summary["p50_us"] / 1000,
        "p99_ms": summary["p99_us"] / 1000,
    }


def _aiohttp(
    url: str, *, headers: Mapping[str, str], seconds: float, connections: int, processes: int
) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    per_process = max(1, connections // processes)
    args = [(url, dict(headers), seconds, per_process)] * processes
    with ctx.Pool(processes) as pool:
        parts = pool.starmap(_aiohttp_process, args)
    latencies = sorted(lat for part in parts for lat in part["latencies"])
    return {
        "tool": "aiohttp",
        "seconds": max(part["seconds"] for part in parts),
        "requests": len(latencies),
        "errors": sum(part["errors"] for part in parts),
        "bad_status": sum(part["bad_status"] for part in parts),
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
    }


def _aiohttp_process(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> dict[str, Any]:
    return asyncio.run(_aiohttp_loop(url, headers, seconds, concurrency))


async def _aiohttp_loop(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    counts = {"errors": 0, "bad_status": 0}
    started = time.perf_counter()
    deadline = started + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            while (now := time.perf_counter()) < deadline:
                try:
                    async with session.get(url) as resp:
                        await resp.read()
                        if resp.status >= 400:
                            counts["bad_status"] += 1
                except aiohttp.ClientError:
                    counts["errors"] += 1
                    continue
                latencies.append(time.perf_counter() - now)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"latencies": latencies, "seconds": time.perf_counter() - started, **counts}


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(pct / 100 * (len(sorted_values) - 1)))
    return sorted_values[index]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state is field 3
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: fields 14 and 15


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def rss_mb(pid: int) -> float | None:
    """Resident memory of one process now, in MB (None if it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((ln for ln in status.splitlines() if ln.startswith("VmRSS:")), None)
    return int(line.split()[1]) / 1024 if line else None


def cpu_of(pids: Iterable[int]) -> dict[int, float]:
    return {pid: cpu_seconds(pid) for pid in pids}


def settle(
    pids: Iterable[int], *, below: float = 0.05, window: float = 1.0, at_most: float = 60.0
) -> tuple[float, float]:
    """Wait until ``pids`` together use less than ``below`` of one core over ``window`` seconds
    (a suite just started is still seeding, publishing and consuming its first events, whose CPU
    would be charged to the requests measured next), at most ``at_most`` seconds. Returns (seconds
    waited, the last window's share of a core)."""
    pids = list(pids)
    start = time.monotonic()
    share = 1.0
    while time.monotonic() - start < at_most:
        before = sum(cpu_of(pids).values())
        time.sleep(window)
        share = (sum(cpu_of(pids).values()) - before) / window
        if share < below:
            break
    return time.monotonic() - start, share


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
