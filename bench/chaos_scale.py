"""Chaos with replicas (issue 9): orders through the gateway of ``interchange up --scale 2`` on
PostgreSQL + Redis, while one random replica is SIGKILLed every 5-10 s (one of a service whose
replicas are all up: ``Chaos.victims``) and Redis restarts once.

Run by name only (``python -m bench chaos_scale``; not in ``make bench``'s default set: the full
size takes minutes). ``BENCH_CHAOS_ORDERS`` (default 10,000) orders at ``BENCH_CHAOS_RATE`` (50)
per second, open loop: each order is sent at its time however long the others take. A partner
whose call fails (502/503/504, a refused or reset connection: an order in flight on a killed
replica) sends the same order again, as the marketplace contract allows (the marketplace order id
is its idempotency key), with backoff, for up to ``RETRY_FOR`` seconds.

Afterwards, the verdict: every accepted order reaches a final state (released or rejected), lost 0
(an order the suite accepted, 202, that the orders process does not hold), duplicated ERP sales
orders 0 (by external reference), WMS allocations for exactly the orders with an ERP sales order,
and the inventory reconciliation (``interchange inventory reconcile``) finds 0 drift.

The throwaway PostgreSQL is Debian's (``tests/support/postgres.py``); Redis runs with its
append-only file, as a production Redis would, so a restart keeps the streams and their consumer
groups. The demo partner's write limit is raised for the run (the chaos is about replicas, not
rate limits).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from gateway.settings import DEFAULT_RATE_LIMITS
from interchange.services import available_services

ROOT = Path(__file__).resolve().parents[1]
ON_REQUEST = True  # run by name only: not in make bench's default set (bench/__main__.py)
ORDERS = int(os.environ.get("BENCH_CHAOS_ORDERS", "10000"))
RATE = float(os.environ.get("BENCH_CHAOS_RATE", "50"))
REPLICAS = int(os.environ.get("BENCH_CHAOS_REPLICAS", "2"))
KILL_EVERY = (5.0, 10.0)  # seconds between two kills, at random
IN_FLIGHT = 128  # orders in flight at most (the partners' connections)
RETRY_FOR = 120.0  # seconds a partner keeps sending an order again
SETTLE_FOR = 300.0  # seconds the saga gets to finish every order after the last one is in
FINAL = frozenset({"released", "rejected", "shipped", "invoiced", "completed", "cancelled"})
#: Sent again: rate limited, the balancer found no replica or lost it mid-request, or the same
#: order is still in flight (409: an earlier attempt, timed out at the partner, is being processed).
RETRYABLE = frozenset({409, 429, 502, 503, 504})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """redis-server on a fixed port with its append-only file, restartable in place."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.binary, self.directory, self.port = binary, directory, _free_port()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        argv += ["--appendonly", "yes", "--save", "", "--logfile", str(self.directory / "redis.log")]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not self._pings():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis writes its append-only file and exits
            self.process.wait(timeout=30)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _pings(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False


@dataclass
class ScaledRun:
    """A running ``interchange up --scale N`` on its own PostgreSQL and Redis."""

    data_dir: Path
    postgres: Any  # tests.support.postgres.PostgresServer
    redis: RedisServer
    launcher: subprocess.Popen[bytes]
    output: Path
    kills: list[str] = field(default_factory=list)

    def suite(self) -> dict[str, Any]:
        return dict(json.loads((self.data_dir / "suite.json").read_text()))

    @property
    def gateway(self) -> str:
        return str(self.suite()["gateway"])

    def sql(self, service: str, query: str) -> list[list[str]]:
        out = self.postgres.execute(query, database=service)
        return [line.split("|") for line in out.splitlines() if line]

    def token(self) -> str:
        demo = json.loads((self.data_dir / "demo-client.json").read_text())
        answer = httpx.post(
            f"{self.gateway}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(demo["client_id"], demo["client_secret"]),
            timeout=30,
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def kill_replica(self, name: str) -> int:
        pid = int(self.suite()["pids"][name])
        os.kill(pid, signal.SIGKILL)
        self.kills.append(name)
        return pid

    def launcher_log(self) -> str:
        return self.output.read_text(errors="replace")


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def scaled_run(root: Path, *, replicas: int = REPLICAS, settings: dict[str, str] | None = None) -> Iterator[ScaledRun]:
    """PostgreSQL (a database per service), Redis and ``interchange up --scale replicas`` under
    ``root``; yields once the launcher says ``running``; stops all three afterwards."""
    from tests.support.postgres import PostgresServer  # Debian's postgresql, in a temp dir

    postgres = PostgresServer().start()
    redis = RedisServer(root / "redis")
    launcher: subprocess.Popen[bytes] | None = None
    try:
        for info in available_services():
            postgres.execute(f'CREATE DATABASE "{info.name}"')
        redis.start()
        data_dir = root / "var"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")} | (settings or {})
        output = root / "launcher.out"
        argv = [sys.executable, "-m", "interchange.cli", "--quiet", "up", "--free-ports", "--data-dir", str(data_dir)]
        argv += ["--scale", str(replicas), "--database-url-template", postgres.url("{service}")]
        argv += ["--events-url", redis.url, "--ready-timeout", "240"]
        with output.open("ab") as log:
            launcher = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        run = ScaledRun(data_dir, postgres, redis, launcher, output)
        deadline = time.monotonic() + 600
        while True:
            if launcher.poll() is not None:
                raise RuntimeError(f"the launcher exited ({launcher.returncode}):\n{run.launcher_log()[-4000:]}")
            suite_file = data_dir / "suite.json"
            if suite_file.exists() and run.suite()["state"] == "running":
                if all(_ready(url) for url in run.suite()["services"].values()):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the scaled suite was not running in time:\n{run.launcher_log()[-4000:]}")
            time.sleep(0.5)
        yield run
    finally:
        if launcher is not None and launcher.poll() is None:
            launcher.send_signal(signal.SIGTERM)
            try:
                launcher.wait(timeout=90)
            except subprocess.TimeoutExpired:
                launcher.kill()
                launcher.wait()
        redis.stop()
        postgres.stop()


def marketplace_order(order_id: str) -> dict[str, Any]:
    """The README's first partner order, under another marketplace order id."""
    return {
        "marketplace_order_id": order_id,
        "currency_code": "EUR",
        "buyer": {"name": "Jane Doe", "email": "jane@example.test"},
        "shipping_address": {
            "recipient": "Jane Doe",
            "street": "Damrak 1",
            "city": "Amsterdam",
            "zip": "1012 LG",
            "country_code": "NL",
        },
        "order_items": [{"seller_sku": "ACME-WB", "quantity_ordered": 1, "item_price": "19.99"}],
    }


@dataclass
class Submission:
    order_id: str
    status: int | None = None  # the last answer's status (None: no answer at all)
    attempts: int = 0
    late: float = 0.0  # seconds the first attempt started after its time (all slots were busy)
    failures: Counter[str] = field(default_factory=Counter)  # what the retried attempts met

    @property
    def accepted(self) -> bool:
        return self.status in (200, 202)


class Token:
    """The partner's access token, fetched again when the gateway answers 401 (it expired: a run
    longer than the token's lifetime; one refresh for every order that met the old one)."""

    def __init__(self, run: ScaledRun) -> None:
        self.run, self.value = run, run.token()
        self.lock = asyncio.Lock()

    async def refresh(self, stale: str) -> str:
        async with self.lock:
            if self.value == stale:
                self.value = await asyncio.to_thread(self.run.token)
            return self.value


async def submit(client: httpx.AsyncClient, gateway: str, token: Token, order_id: str) -> Submission:
    """Send one order, again on a failure a partner retries (see the module's docstring)."""
    done = Submission(order_id)
    deadline = time.monotonic() + RETRY_FOR
    pause = 0.2
    while True:
        done.attempts += 1
        try:
            answer = await client.post(
                f"{gateway}/marketplace/v1/orders",
                json=marketplace_order(order_id),
                headers={"Authorization": f"Bearer {(sent := token.value)}"},
            )
            done.status = answer.status_code
            if answer.status_code == 401 and not done.failures["401"]:  # once: the token expired
                done.failures["401"] += 1
                await token.refresh(sent)
                continue
            if answer.status_code not in RETRYABLE:
                return done
            done.failures[str(answer.status_code)] += 1
        except httpx.TransportError as exc:
            done.status = None
            done.failures[type(exc).__name__] += 1
        if time.monotonic() > deadline:
            return done
        await asyncio.sleep(pause + random.random() * pause)
        pause = min(pause * 2, 5.0)


async def submit_paced(
    run: ScaledRun, *, prefix: str, orders: int, rate: float, on_done: Any = None
) -> list[Submission]:
    """``orders`` orders at ``rate`` per second, open loop (each started at its time), at most
    ``IN_FLIGHT`` at once: an order due while that many are in flight waits for one to end (its
    lateness is recorded). Without the cap, thousands of requests queued in httpcore's pool,
    whose assignment of requests to connections costs O(queued x connections) per change: the
    client spent its CPU there and sent nothing more (seen at 2,000 orders on a loaded machine)."""
    token = Token(run)
    gateway = run.gateway
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    slots = asyncio.Semaphore(IN_FLIGHT)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=30.0), limits=limits) as client:
        start = time.monotonic()

        async def one(n: int) -> Submission:
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            async with slots:
                late = time.monotonic() - due
                result = await submit(client, gateway, token, f"{prefix}-{n:05d}")
            result.late = late
            if on_done is not None:
                on_done(result)
            return result

        return list(await asyncio.gather(*(one(n) for n in range(orders))))


class Chaos(threading.Thread):
    """Kills one random replica every 5-10 s until stopped, and restarts Redis once, at ``redis_at``
    seconds (the supervisor starts each killed replica again)."""

    def __init__(self, run: ScaledRun, *, redis_at: float) -> None:
        super().__init__(daemon=True)
        self.run_, self.redis_at = run, redis_at
        self.stopped = threading.Event()
        self.redis_restarts = 0
        self.errors: list[str] = []

    def victims(self) -> list[str]:
        """The replicas whose every sibling is up and ready: killing one leaves its service served
        (with two replicas and a restart back-off that grows for a replica killed again soon after
        its start, a free pick would at times take a service's last replica down: a test of the
        supervisor's back-off, not of the replicas)."""
        replicas: dict[str, str] = self.run_.suite()["replicas"]
        up = {name for name, url in replicas.items() if _ready(url)}
        by_service: dict[str, set[str]] = {}
        for name in replicas:
            by_service.setdefault(name.rsplit("-", 1)[0], set()).add(name)
        return sorted(name for names in by_service.values() if names <= up for name in names)

    def run(self) -> None:
        started = time.monotonic()
        while not self.stopped.wait(random.uniform(*KILL_EVERY)):
            try:
                self.run_.kill_replica(random.choice(self.victims()))
                if not self.redis_restarts and time.monotonic() - started >= self.redis_at:
                    self.run_.redis.restart()
                    self.redis_restarts += 1
            except (OSError, KeyError, RuntimeError, ValueError, IndexError) as exc:  # none to pick, or gone
                self.errors.append(repr(exc))


def _checked(prefix: str) -> str:
    """The run's order-id prefix, letters and digits only: it goes into psql's SQL as it is."""
    if not prefix.isalnum():
        raise ValueError(f"an order-id prefix is letters and digits only: {prefix!r}")
    return prefix


def verdict(run: ScaledRun, submissions: list[Submission], *, prefix: str) -> dict[str, Any]:
    """The figures after the run (see the module docstring)."""
    accepted = {s.order_id for s in submissions if s.accepted}
    query = f"SELECT channel_order_id, id, status FROM orders WHERE channel_order_id LIKE '{_checked(prefix)}-%'"  # noqa: S608
    rows = run.sql("orders", query)
    held = {r[0]: (r[1], r[2]) for r in rows}
    statuses = Counter(status for _, status in held.values())
    per_channel_id = Counter(r[0] for r in rows)
    order_ids = {order_id for order_id, _ in held.values()}
    erp = run.sql("erp", "SELECT ext_ref FROM erp_sales_orders")
    erp_refs = Counter(r[0] for r in erp)
    erp_orders = {oid for oid in order_ids if any(oid in ref for ref in erp_refs)}
    wms = run.sql("wms", "SELECT DISTINCT order_ref FROM wms_allocations")
    wms_orders = {oid for oid in order_ids if any(oid in r[0] for r in wms)}
    return {
        "submitted": len(submissions),
        "accepted": len(accepted),
        "refused": sum(1 for s in submissions if s.status is not None and not s.accepted),
        "refused_statuses": dict(Counter(str(s.status) for s in submissions if s.status and not s.accepted)),
        "unanswered": sum(1 for s in submissions if s.status is None),
        "final": sum(1 for cid in accepted if cid in held and held[cid][1] in FINAL),
        "statuses": dict(statuses),
        "lost": len(accepted - held.keys()),
        "duplicated_orders": sum(n - 1 for n in per_channel_id.values() if n > 1),
        "duplicated_erp_sales_orders": sum(n - 1 for n in erp_refs.values() if n > 1),
        "erp_sales_orders": len(erp_orders),
        "wms_allocated_orders": len(wms_orders),
        "allocations_match_erp": wms_orders == erp_orders,
        "retried_attempts": sum(s.attempts - 1 for s in submissions),
        "late_seconds_max": round(max((s.late for s in submissions), default=0.0), 1),
        "retried_because": dict(sum((s.failures for s in submissions), Counter())),
    }


def settle(run: ScaledRun, *, prefix: str, accepted: int, seconds: float = SETTLE_FOR) -> bool:
    """Wait until every order of the run is in a final state (or ``seconds`` pass)."""
    final = ",".join(f"'{s}'" for s in FINAL)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = run.sql(
            "orders",
            f"SELECT count(*) FROM orders WHERE channel_order_id LIKE '{_checked(prefix)}-%' AND status IN ({final})",  # noqa: S608
        )
        if int(rows[0][0]) >= accepted:
            return True
        time.sleep(1.0)
    return False


def reconcile_drift(run: ScaledRun) -> int:
    """Drift rows of ``interchange inventory reconcile`` (through the suite's admin API)."""
    data_dir = ["--data-dir", str(run.data_dir)]
    done = subprocess.run(
        [sys.executable, "-m", "interchange.cli", "--quiet", "inventory", "reconcile", "--json", *data_dir],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")},
        check=False,
    )
    try:
        return len(json.loads(done.stdout)["drift"])
    except (ValueError, KeyError) as exc:
        raise RuntimeError(f"reconcile failed ({done.returncode}): {done.stdout}\n{done.stderr}") from exc


def generous_limits() -> dict[str, str]:
    """The demo partner's write limit raised above the run's rate (standard tier)."""
    limits = {tier: dict(classes) for tier, classes in DEFAULT_RATE_LIMITS.items()}
    limits["standard"] = {"reads": "100000/minute", "writes": "100000/minute"}
    return {"INTERCHANGE_GATEWAY_RATE_LIMITS": json.dumps(limits)}


def run() -> dict[str, Any]:
    console = Console(stderr=True)
    prefix = f"CH{int(time.time())}"
    root = Path(tempfile.mkdtemp(prefix="interchange-chaos-"))
    try:
        console.print(f"chaos_scale: {ORDERS} orders at {RATE:g}/s, {REPLICAS} replicas per service, in {root}")
        with scaled_run(root, settings=generous_limits()) as suite:
            seconds = ORDERS / RATE
            chaos = Chaos(suite, redis_at=seconds / 2)
            with Progress(
                TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(), console=console, transient=True,
            ) as progress:  # fmt: skip
                task = progress.add_task("orders answered", total=ORDERS)
                chaos.start()
                sending = time.monotonic()
                submissions = asyncio.run(
                    submit_paced(
                        suite, prefix=prefix, orders=ORDERS, rate=RATE, on_done=lambda _s: progress.advance(task)
                    )
                )
                sent_in = time.monotonic() - sending
                chaos.stopped.set()
                chaos.join()
            accepted = sum(1 for s in submissions if s.accepted)
            console.print(f"all answered; {len(suite.kills)} replicas killed; waiting for the saga to finish")
            settled = settle(suite, prefix=prefix, accepted=accepted)
            figures = verdict(suite, submissions, prefix=prefix)
            figures["drift"] = reconcile_drift(suite)
            figures |= {
                "sent_in_seconds": round(sent_in, 1),
                "achieved_rate": round(ORDERS / sent_in, 1),
                "settled": settled,
                "kills": len(suite.kills),
                "killed": dict(Counter(name.rsplit("-", 1)[0] for name in suite.kills)),
                "redis_restarts": chaos.redis_restarts,
                "chaos_errors": chaos.errors,
                "restarts_logged": suite.launcher_log().count("started again"),
            }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ok = (
        figures["lost"] == 0
        and figures["final"] == figures["accepted"]
        and figures["duplicated_erp_sales_orders"] == 0
        and figures["duplicated_orders"] == 0
        and figures["allocations_match_erp"]
        and figures["drift"] == 0
    )
    rows = [
        {"figure": "orders submitted", "value": figures["submitted"]},
        {"figure": "rate achieved (orders/s, all answered)", "value": figures["achieved_rate"]},
        {"figure": "accepted (202)", "value": figures["accepted"]},
        {"figure": f"unanswered after {RETRY_FOR:.0f} s of retries", "value": figures["unanswered"]},
        {"figure": "refused (other 4xx/5xx)", "value": figures["refused"]},
        {"figure": "final (released or rejected)", "value": figures["final"]},
        {"figure": "lost", "value": figures["lost"]},
        {"figure": "duplicated orders", "value": figures["duplicated_orders"]},
        {"figure": "duplicated ERP sales orders", "value": figures["duplicated_erp_sales_orders"]},
        {
            "figure": "ERP sales orders / WMS-allocated orders",
            "value": f"{figures['erp_sales_orders']} / {figures['wms_allocated_orders']}",
        },
        {"figure": "inventory drift (reconcile)", "value": figures["drift"]},
        {"figure": "replicas SIGKILLed / Redis restarts", "value": f"{figures['kills']} / {figures['redis_restarts']}"},
    ]
    return {
        "title": f"chaos with replicas: {ORDERS} orders at {RATE:g}/s, {REPLICAS} replicas, kills every 5-10 s",
        "rows": rows,
        "verdict": "pass" if ok else "FAIL",
        "figures": figures,
        "notes": [
            f"verdict: {'pass' if ok else 'FAIL'}; statuses {figures['statuses']}",
            f"partner retries by cause: {figures['retried_because']}",
        ],
    }
