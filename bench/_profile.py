"""Where a Python server's CPU goes under load: py-spy samples grouped into a few buckets.

``sample(pid, seconds)`` runs ``py-spy record --format raw`` on a live process (py-spy is a
development tool, not a dependency: ``pip install py-spy``; without it this returns ``None``);
``buckets`` attributes each sample of the main thread to the innermost frame matching a rule.
Samples where the event loop waits in epoll are left out (py-spy counts them as busy), and so
are other threads (aiosqlite's and the executor's, blocked on their queues).
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

#: (bucket, substrings of a frame): the first rule matching a frame, from the innermost frame out.
GATEWAY_RULES: Sequence[tuple[str, Sequence[str]]] = (
    ("rate limit step (ratelimit.py)", ("gateway/ratelimit.py",)),
    ("audit record (audit.py)", ("gateway/audit.py",)),
    ("policy steps: sunset, scopes, body", ("gateway/policy.py", "gateway/bodies.py", "gateway/versions.py")),
    ("authenticate step (token cache)", ("authenticate.<locals>.step", "TokenVerifier.verify")),
    ("access log (structlog -> logging -> file)", ("Logger.info", "BoundLogger.info")),
    ("metrics (prometheus)", ("prometheus_client",)),
    ("aiohttp client: request write syscall", ("StreamWriter._write",)),
    ("aiohttp client: the rest", ("aiohttp/",)),
    ("pyreqwest client (Rust, on the GIL)", ("pyreqwest",)),
    ("granian server (Rust, on the GIL: ASGI glue, send)", ("granian/", "GatewayApp.dispatch", "_Answer.send")),
    ("httpx API over aiohttp (Request, URL, cookies)", ("httpx/", "httpx_aiohttp/")),
    ("response down: uvicorn send (write syscalls)", ("RequestResponseCycle.send",)),
    ("proxy's own code (headers, matching, forward)", ("gateway/proxy.py", "gateway/forward.py", "gateway/routing.py")),
    ("correlation id, traceparent (correlation.py)", ("service_kit/correlation.py",)),
    ("uvicorn / starlette / fastapi plumbing", ("uvicorn/", "starlette/", "fastapi/")),
)


#: The same for a service of the suite (experience, process or system API).
SERVICE_RULES: Sequence[tuple[str, Sequence[str]]] = (
    ("database: SQLAlchemy ORM", ("sqlalchemy/orm/",)),
    ("database: SQLAlchemy core, engine, pool", ("sqlalchemy/",)),
    ("database: aiosqlite / sqlite3 hand-off", ("aiosqlite/", "sqlite3")),
    ("outbound call: httpx API", ("httpx/", "httpx_aiohttp/")),
    ("outbound call: aiohttp / pyreqwest client", ("aiohttp/", "pyreqwest")),
    ("outbound call: kit (retry, breaker, pacer, token)", ("service_kit/http.py", "stamina/", "purgatory/")),
    ("token verification (joserfc, kit auth)", ("joserfc/", "service_kit/auth.py", "cryptography/")),
    ("logging (structlog, stdlib logging)", ("structlog/", "logging/__init__.py")),
    ("metrics (prometheus)", ("prometheus_client",)),
    ("validation and serialisation (pydantic, json)", ("pydantic", "json/", "orjson")),
    ("events, outbox, workers (kit)", ("service_kit/events/", "service_kit/workers.py")),
    ("kit middleware and the rest of the kit", ("service_kit/",)),
    ("FastAPI / Starlette routing and dependencies", ("fastapi/", "starlette/")),
    ("HTTP server (uvicorn, granian, httptools)", ("uvicorn/", "granian/", "httptools")),
    ("the service's own code", ("experience_apis/", "process_apis/", "system_apis/", "gateway/")),
)


def sample(pid: int, seconds: float, rate: int = 200) -> str | None:
    """Collapsed stacks (``frame;frame;... count`` per line) of ``pid`` for ``seconds``."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "profile.txt"
        command = [spy, "record", "--pid", str(pid), "-d", str(max(1, round(seconds))), "-r", str(rate)]
        done = subprocess.run(
            [*command, "--format", "raw", "-o", str(out)],
            capture_output=True,
            timeout=seconds + 60,
            check=False,
        )
        return out.read_text() if done.returncode == 0 and out.exists() else None


def buckets(collapsed: str, rules: Sequence[tuple[str, Sequence[str]]] = GATEWAY_RULES) -> dict[str, float]:
    """Percent of the main thread's busy samples per bucket, largest first."""
    counts: collections.Counter[str] = collections.Counter()
    for line in collapsed.splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit() or "Thread._bootstrap" in stack:
            continue
        frames = stack.split(";")
        if frames[-1].startswith("Runner.run ("):
            continue  # the event loop waiting for work
        for frame in reversed(frames):
            name = next((bucket for bucket, keys in rules if any(k in frame for k in keys)), None)
            if name is not None:
                counts[name] += int(n)
                break
        else:
            counts["other (event loop, gc...)"] += int(n)
    total = sum(counts.values()) or 1
    return {name: round(100 * n / total, 1) for name, n in counts.most_common()}
