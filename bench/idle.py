"""Idle cost: what the whole suite burns when nobody calls it.

Real processes on the embedded default (``interchange up --free-ports`` on a temporary data
directory, SQLite event log), no traffic at all. After a settle (start-up work: schema, seeding,
first token), each service's CPU time (utime + stime from ``/proc/<pid>/stat``, its threads and any
child processes included) is read at the start and the end of a window; CPU % of one core is the
difference over the window's wall time. CPU per unit of work does not depend on how busy the
machine is; an idle process has no unit of work, so this is the one figure here that is CPU over
wall time, and other load on the machine barely moves it (a waiting process costs what it wakes up
for). RSS is read at the end of the window.

``python -m bench idle``; ``IDLE_SETTLE`` and ``IDLE_WINDOW`` (seconds) override the 10 s settle
and the 30 s window.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._targets import target
from bench.gateway import suite

SETTLE_SECONDS = float(os.environ.get("IDLE_SETTLE", "10"))
WINDOW_SECONDS = float(os.environ.get("IDLE_WINDOW", "30"))
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> tuple[int, float]:
    """(parent pid, CPU seconds of the process and its threads)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = _stat(int(entry.name))[0]
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += _stat(pid)[1]
        except OSError:  # ended meanwhile
            continue
    return total


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
    return total / 2**20


def measure(pids: dict[str, int], *, window: float) -> list[dict[str, Any]]:
    """One row per service (and the launcher, on its own: not its children): CPU % of a core over
    ``window`` seconds, and RSS in MB."""
    trees = {name: [pid] if name == "launcher" else _tree(pid) for name, pid in pids.items()}
    start_wall = time.monotonic()
    start = {name: _cpu(tree) for name, tree in trees.items()}
    time.sleep(window)  # the measurement window itself, not a wait for something to happen
    wall = time.monotonic() - start_wall
    rows = [
        {
            "service": name,
            "cpu_pct_of_core": round(100 * (_cpu(tree) - start[name]) / wall, 2),
            "rss_mb": round(_rss_mb(tree), 1),
        }
        for name, tree in trees.items()
    ]
    rows.sort(key=lambda r: -r["cpu_pct_of_core"])
    rows.append(
        {
            "service": "whole suite",
            "cpu_pct_of_core": round(sum(r["cpu_pct_of_core"] for r in rows), 2),
            "rss_mb": round(sum(r["rss_mb"] for r in rows), 1),
        }
    )
    return rows


def run() -> dict[str, Any]:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as tmp, suite(Path(tmp) / "suite") as info:
        time.sleep(SETTLE_SECONDS)  # start-up work (seeding, first tokens) is not idle cost
        pids = {name: int(pid) for name, pid in _pids(Path(info["data_dir"])).items()}
        rows = measure(pids | {"launcher": _stat(pids["gateway"])[0]}, window=WINDOW_SECONDS)
    whole = rows[-1]["cpu_pct_of_core"]
    return {
        "title": "Idle: CPU and memory of every service with no traffic (embedded SQLite event log)",
        "rows": rows,
        "notes": [
            f"CPU % of one core over a {WINDOW_SECONDS:.0f} s window after a {SETTLE_SECONDS:.0f} s settle; "
            "utime + stime from /proc, threads and child processes included; RSS at the end",
            f"load average before the run {load:.1f} on {os.cpu_count()} cores",
        ],
        "targets": [
            target("whole suite idle CPU", whole, unit="% of a core", at_most=2, before="~15%"),
        ],
    }


def _pids(data_dir: Path) -> dict[str, int]:
    import json

    info = json.loads((data_dir / "suite.json").read_text())
    return {name: int(pid) for name, pid in info["pids"].items()}


__all__ = ["measure", "run"]
