"""What the gateway costs: one experience API operation called directly, through the gateway,
and through nginx as a plain reverse proxy, in one run on the same machine.

The operation is the marketplace's order status, ``GET /v1/orders/{id}`` for an order submitted
first (so the whole chain runs: marketplace, then the orders process API, each reading its
database). The suite is started with the launcher (``interchange up --free-ports``); a ``bench``
client (tier ``bench``, limits high enough never to refuse, but counted like any other) gets a
token; then each target gets a warm-up and a measured run with the same load:

    direct    the marketplace service itself
    gateway   /marketplace/v1/... through the gateway: authentication, rate limit and whatever
              else the gateway's policy runs today (scopes, validation, audit...)
    nginx     nginx in front of the marketplace service, keepalive to it, no policy at all

For each: requests/s, p50/p99 latency, and CPU time per request of the gateway, of nginx (master
and workers), of the services behind, and of the load generator, from /proc/<pid>/stat before
and after. The two cores are shared by everything, so read the ratios and the CPU per request
rather than the absolute rates (shared/notes/PERFORMANCE.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench._load import children_of, cpu_of, free_port, load, load_tool, rss_mb, settle
from bench._profile import SERVICE_RULES, buckets, sample
from bench._targets import target
from interchange.launcher import proxy_header_flags, server_module

ROOT = Path(__file__).resolve().parents[1]
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
WARMUP_SECONDS = float(os.environ.get("BENCH_WARMUP_SECONDS", "2"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
#: Also measure the three targets in front of a stub service (BENCH_STUB=0 to skip).
STUB = os.environ.get("BENCH_STUB", "1") != "0"
#: Then profile with py-spy (a dev dependency; BENCH_PROFILE=0 to skip): the marketplace and the
#: orders service under the chain's status reads, and the gateway in front of the stub.
PROFILE = os.environ.get("BENCH_PROFILE", "1") != "0"
BENCH_TIER = "bench"
BENCH_LIMITS = {
    "standard": {"reads": "600/minute", "writes": "120/minute"},
    "internal": {"reads": "6000/minute", "writes": "1200/minute"},
    BENCH_TIER: {"reads": "100000000/minute", "writes": "100000000/minute"},
}
PARTNER = "acme-market"
ORDER_ID = "MP-BENCH-1"
STATUS_PATH = f"/v1/orders/{ORDER_ID}"
ORDER = {
    "marketplace_order_id": ORDER_ID,
    "currency_code": "EUR",
    "buyer": {"name": "Bench Mark", "email": "bench@example.test"},
    "shipping_address": {
        "recipient": "Bench Mark",
        "street": "Damrak 1",
        "city": "Amsterdam",
        "zip": "1012 LG",
        "country_code": "NL",
    },
    "order_items": [{"seller_sku": "ACME-WB", "quantity_ordered": 1, "item_price": "19.99"}],
}
#: The targets (issue 8, "Fast enough for a promotion peak"): a benchmark's verdict, not a test.
TARGET_GATEWAY_CPU_US = 200
TARGET_GATEWAY_VS_FLOOR = 1.25
TARGET_STATUS_READ_SERVICE_CPU_US = 1500
TARGET_THROUGHPUT_RATIO = 0.45
TARGET_RSS_MB = 150


def run() -> dict[str, Any]:
    load_average = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="interchange-bench-") as tmp_name, suite(Path(tmp_name) / "var") as info:
        tmp = Path(tmp_name)
        auth = {"Authorization": f"Bearer {bench_token(info)}"}
        submit_order(info["gateway"], auth)
        marketplace = info["services"]["marketplace"]
        pids = dict(info["pids"])
        services = [pid for name, pid in pids.items() if name != "gateway"]
        settled_after, settled_share = settle(pids.values())
        measured = scenario("chain", tmp, auth, marketplace, {"gateway": (info["gateway"], pids["gateway"])}, services)
        memory = {name: rss_mb(pid) for name, pid in pids.items()}  # right after the chain's load
        profiles: dict[str, dict[str, float] | None] = {}
        if PROFILE:
            for name in ("marketplace", "orders"):
                profiles[name] = profile_process(marketplace + STATUS_PATH, auth, pids[name], rules=SERVICE_RULES)
        if STUB:
            answer = httpx.get(marketplace + STATUS_PATH, headers=auth, timeout=10).text
            with (
                stub(tmp, answer) as (stub_url, stub_pid),
                stub_gateway(tmp, info, stub_url) as gateway,
                floor(tmp, stub_url) as floor_proxy,
                floor(tmp, stub_url, reqwest=True) as reqwest_floor,
                floor(tmp, stub_url, rsgi=True) as rsgi_floor,
            ):
                proxies = {
                    "gateway": gateway,
                    "floor": floor_proxy,
                    "floor-reqwest": reqwest_floor,
                    "floor-rsgi": rsgi_floor,
                }
                measured |= scenario("stub", tmp, auth, stub_url, proxies, [stub_pid])
                if PROFILE:
                    profiles["gateway (stub behind)"] = profile_process(
                        gateway[0] + "/marketplace" + STATUS_PATH, auth, gateway[1]
                    )
    result = report(measured, load_average=load_average)
    result["notes"].append(
        f"the chain was measured once the started suite had settled: {settled_after:.0f} s after start-up "
        f"its services used {100 * settled_share:.1f}% of a core (seeding and first events done)"
    )
    result["memory_rss_mb"] = memory
    result["notes"].append(
        "memory (RSS right after the chain's load, MB): " + ", ".join(f"{k} {v:.0f}" for k, v in memory.items() if v)
    )
    result["targets"].extend(memory_targets(memory))
    if PROFILE:
        result["profiles"] = profiles
        for name, profile in profiles.items():
            result["notes"].append(
                f"where {name}'s CPU goes (py-spy, % of busy samples of its main thread): "
                + (", ".join(f"{k} {v}" for k, v in profile.items()) if profile else "py-spy is not installed")
            )
    return result


def memory_targets(memory: dict[str, float | None]) -> list[dict[str, Any]]:
    worst = max(((v, k) for k, v in memory.items() if v is not None), default=None)
    if worst is None:
        return []
    return [target(f"memory per service under load, largest ({worst[1]})", worst[0], unit="MB", at_most=TARGET_RSS_MB)]


def targets_of(measured: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's rows this benchmark measures, against their targets."""
    rows = []
    direct = measured.get("chain direct")
    if direct is not None:
        rows.append(
            target(
                "status read marketplace -> orders, service CPU per request",
                direct["cpu_us_per_request"]["services"],
                unit="µs",
                at_most=TARGET_STATUS_READ_SERVICE_CPU_US,
                before="9,057 µs",
                goal="1,000 µs",
            )
        )
    chain_gateway = measured.get("chain gateway")
    if direct is not None and chain_gateway is not None:
        rows.append(
            target(
                "status read through the gateway / direct, throughput",
                chain_gateway["requests_per_second"] / max(1e-9, direct["requests_per_second"]),
                at_least=TARGET_THROUGHPUT_RATIO,
                before="0.87-0.92",
            )
        )
    gateway, floor_ = measured.get("stub gateway"), cheapest_floor(measured, "stub")
    if gateway is not None:
        cpu = gateway["cpu_us_per_request"]["proxy"]
        rows.append(
            target(
                "gateway CPU per proxied GET (stub behind)",
                cpu,
                unit="µs",
                at_most=TARGET_GATEWAY_CPU_US,
                before="437 µs",
                goal="150 µs",
            )
        )
        if floor_ is not None:
            rows.append(
                target(
                    f"gateway CPU / floor CPU per proxied GET, same run (floor: {floor_['name']})",
                    cpu / max(1e-9, floor_["cpu_us_per_request"]["proxy"]),
                    at_most=TARGET_GATEWAY_VS_FLOOR,
                    before="1.88 (437 / 232 µs)",
                )
            )
    return rows


FLOORS = {
    "floor": "uvicorn + aiohttp",
    "floor-reqwest": "granian + pyreqwest",
    "floor-rsgi": "granian RSGI + pyreqwest",
}


def cheapest_floor(measured: dict[str, dict[str, Any]], scenario_name: str) -> dict[str, Any] | None:
    """The floor is the cheapest Python hop measured in this run (CPU per request), named."""
    found = [
        (m["cpu_us_per_request"]["proxy"], key, m)
        for key, m in measured.items()
        if key.split()[0] == scenario_name and key.split()[1] in FLOORS
    ]
    if not found:
        return None
    _, key, m = min(found, key=lambda f: f[0])
    return m | {"name": FLOORS[key.split()[1]]}


def profile_process(url: str, auth: dict[str, str], pid: int, *, rules: Any = None) -> dict[str, float] | None:
    """Sample one process with py-spy while it is under the same load (a separate run: sampling
    slows it down, so none of the figures above come from it)."""
    options = {"headers": auth, "seconds": 8, "connections": CONNECTIONS}
    runner = threading.Thread(target=load, args=(url,), kwargs=options)
    runner.start()
    time.sleep(1)
    collapsed = sample(pid, 6)
    runner.join()
    if not collapsed:
        return None
    return buckets(collapsed, rules) if rules else buckets(collapsed)


def scenario(
    name: str,
    tmp: Path,
    auth: dict[str, str],
    service: str,
    proxies: dict[str, tuple[str, int]],
    service_pids: list[int],
) -> dict[str, dict[str, Any]]:
    """The service itself, then each Python proxy (``name -> (url, pid)``) and nginx in front of it."""
    with nginx(tmp / f"nginx-{name}", service) as proxy:
        targets: dict[str, tuple[str, list[int]]] = {"direct": (service + STATUS_PATH, [])}
        for proxy_name, (url, pid) in proxies.items():
            targets[proxy_name] = (url + "/marketplace" + STATUS_PATH, [pid])
        if proxy is not None:
            targets["nginx"] = (proxy["url"] + STATUS_PATH, [proxy["pid"], *children_of(proxy["pid"])])
        for target, (url, _) in targets.items():
            resp = httpx.get(url, headers=auth, timeout=10)
            if resp.status_code != 200:
                raise RuntimeError(f"{name} {target}: {url} answered {resp.status_code}: {resp.text[:300]}")
        return {f"{name} {target}": measure(url, auth, pids, service_pids) for target, (url, pids) in targets.items()}


def measure(url: str, auth: dict[str, str], proxy_pids: list[int], service_pids: list[int]) -> dict[str, Any]:
    """A warm-up, then a measured run, with the CPU time of the proxy's and the services' processes
    before and after."""
    load(url, headers=auth, seconds=WARMUP_SECONDS, connections=CONNECTIONS)
    before = cpu_of([*proxy_pids, *service_pids])
    result = load(url, headers=auth, seconds=SECONDS, connections=CONNECTIONS)
    after = cpu_of([*proxy_pids, *service_pids])
    per_request = 1e6 / max(1, result.requests)
    return {
        **result.as_dict(),
        "cpu_us_per_request": {
            "proxy": sum(after[p] - before[p] for p in proxy_pids) * per_request if proxy_pids else None,
            "services": sum(after[p] - before[p] for p in service_pids) * per_request,
            "load_generator": result.client_cpu_seconds * per_request,
        },
    }


def report(measured: dict[str, dict[str, Any]], *, load_average: tuple[float, float, float]) -> dict[str, Any]:
    rows = []
    for name, m in measured.items():
        cpu = m["cpu_us_per_request"]
        rows.append(
            {
                "target": name,
                "req/s": round(m["requests_per_second"]),
                "p50 ms": m["p50_ms"],
                "p99 ms": m["p99_ms"],
                "proxy CPU µs/req": cpu["proxy"],
                "service(s) CPU µs/req": cpu["services"],
                "loadgen CPU µs/req": cpu["load_generator"],
                "errors": m["errors"] + m["bad_status"],
            }
        )
    ratios: dict[str, dict[str, float]] = {}
    notes = [
        f"load: {load_tool()}, {CONNECTIONS} connections, {SECONDS:.0f} s per target after {WARMUP_SECONDS:.0f} s "
        f"of warm-up, GET {STATUS_PATH}; load average before the run {load_average[0]:.1f} on {os.cpu_count()} cores",
        "chain: the real marketplace service (-> orders process API, each reading its database)",
        "stub: a stub service answering the same bytes at once (the proxies' own cost, as in PERFORMANCE.md); "
        "floor: a raw ASGI proxy with no policy (bench/_floor.py): floor = uvicorn + aiohttp (the issue's), "
        "floor-reqwest = granian + pyreqwest, floor-rsgi = the same on granian's RSGI interface; "
        "the target's ratio is to the cheapest of them in this run",
        "gateway: served as interchange up serves it (granian embedded by gateway.serve, pyreqwest to the service)",
    ]
    for name in dict.fromkeys(key.split()[0] for key in measured):
        direct, gateway, nginx_ = (measured.get(f"{name} {t}") for t in ("direct", "gateway", "nginx"))
        assert direct is not None and gateway is not None
        gateway_cpu = gateway["cpu_us_per_request"]["proxy"]
        r = {"gateway_vs_direct_throughput": gateway["requests_per_second"] / direct["requests_per_second"]}
        if nginx_ is not None:
            r["gateway_vs_nginx_throughput"] = gateway["requests_per_second"] / nginx_["requests_per_second"]
            r["gateway_vs_nginx_cpu_per_request"] = gateway_cpu / max(1e-9, nginx_["cpu_us_per_request"]["proxy"])
        for floor_key in FLOORS:
            floor_ = measured.get(f"{name} {floor_key}")
            if floor_ is not None:
                ratio_name = "gateway_vs_" + floor_key.replace("-", "_") + "_cpu_per_request"
                r[ratio_name] = gateway_cpu / max(1e-9, floor_["cpu_us_per_request"]["proxy"])
        ratios[name] = r
        notes.append(
            f"{name}: " + ", ".join(f"{k} {v:.2f}" for k, v in r.items()) + f"; gateway CPU {gateway_cpu:.0f} µs/req"
        )
    if not any(key.endswith("nginx") for key in measured):
        notes.append("nginx is not installed (apt-get install nginx): no nginx target")
    return {
        "title": "Gateway overhead: GET the marketplace order status direct / through the gateway / through nginx",
        "rows": rows,
        "notes": notes,
        "ratios": ratios,
        "measured": measured,
        "targets": targets_of(measured),
        "settings": {
            "seconds": SECONDS,
            "warmup_seconds": WARMUP_SECONDS,
            "connections": CONNECTIONS,
            "load_tool": load_tool(),
            "cpus": os.cpu_count(),
            "load_average_before": load_average,
            "python": sys.version.split()[0],
            "commit": _git_commit(),
        },
    }


@contextmanager
def suite(data_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """The whole suite via the launcher, on free ports, with a ``bench`` rate tier."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")}
    env["INTERCHANGE_GATEWAY_RATE_LIMITS"] = json.dumps(BENCH_LIMITS)
    env |= extra_env or {}
    data_dir.mkdir(parents=True)
    log_path = data_dir / "launcher.out"
    with log_path.open("ab") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "interchange.cli", "up", "--free-ports", "--data-dir", str(data_dir)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield _wait_ready(launcher, data_dir, log_path)
    finally:
        if launcher.poll() is None:
            launcher.send_signal(signal.SIGTERM)
        try:
            launcher.wait(timeout=60)
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.wait()


def _wait_ready(launcher: subprocess.Popen[bytes], data_dir: Path, log_path: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    suite_file = data_dir / "suite.json"
    while time.monotonic() < deadline:
        if launcher.poll() is not None:
            raise RuntimeError(f"the launcher exited:\n{log_path.read_text()[-3000:]}")
        if suite_file.exists():
            info: dict[str, Any] = json.loads(suite_file.read_text())
            try:
                if all(httpx.get(f"{u}/health/ready", timeout=1).status_code == 200 for u in info["services"].values()):
                    return info | {"data_dir": str(data_dir)}
            except httpx.HTTPError:
                pass
        time.sleep(0.25)
    raise RuntimeError(f"the suite was not ready in time:\n{log_path.read_text()[-3000:]}")


def bench_token(info: dict[str, Any]) -> str:
    """A client of the demo partner in the ``bench`` rate tier, and its token."""
    from gateway.clients import create_client
    from gateway.models import Base
    from service_kit.db import Database

    data_dir = Path(info["data_dir"])

    async def register() -> tuple[str, str]:
        db = Database(f"sqlite+aiosqlite:///{data_dir / 'gateway.db'}", metadata=[Base.metadata])
        try:
            from contracts import scopes

            return await create_client(
                db,
                client_id="bench-client",
                kind="partner",
                partner_id=PARTNER,
                channel="marketplace",
                scopes=[scopes.MARKETPLACE_ORDERS_WRITE, scopes.MARKETPLACE_ORDERS_READ],
                tier=BENCH_TIER,
            )
        finally:
            await db.dispose()

    client_id, secret = asyncio.run(register())
    resp = httpx.post(
        f"{info['gateway']}/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    resp.raise_for_status()
    return str(resp.json()["access_token"])


def submit_order(gateway: str, auth: dict[str, str]) -> None:
    """Submit the order the benchmark reads, and wait until the saga has accepted it."""
    url = f"{gateway}/marketplace/v1/orders"
    resp = httpx.post(url, json=ORDER, headers=auth | {"Idempotency-Key": ORDER_ID}, timeout=10)
    if resp.status_code not in (200, 201, 202):
        raise RuntimeError(f"submitting the bench order failed: {resp.status_code} {resp.text[:300]}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = httpx.get(f"{url}/{ORDER_ID}", headers=auth, timeout=10).json().get("order_status")
        if status not in (None, "PENDING"):
            return
        time.sleep(0.2)
    raise RuntimeError("the bench order was not processed within 30 s")


@contextmanager
def stub(tmp: Path, body: str) -> Iterator[tuple[str, int]]:
    """``bench/_stub.py`` in its own uvicorn process, answering ``body`` to everything."""
    port = free_port()
    env = dict(os.environ) | {"BENCH_STUB_BODY": body}
    with serve(tmp / "stub.log", ["bench._stub:app", "--port", str(port)], env) as pid:
        yield f"http://127.0.0.1:{port}", pid


@contextmanager
def floor(tmp: Path, upstream: str, *, reqwest: bool = False, rsgi: bool = False) -> Iterator[tuple[str, int]]:
    """``bench/_floor.py``: a bare raw ASGI proxy to ``upstream``, on uvicorn + aiohttp or (with
    ``reqwest``) on granian + pyreqwest, each server run as ``interchange up`` runs it; with
    ``rsgi``, the pyreqwest proxy on granian's RSGI interface."""
    port = free_port()
    env = dict(os.environ) | {"BENCH_FLOOR_UPSTREAM": upstream}
    if rsgi:
        module, args = server_module("gateway"), ["bench._floor:rsgi_app", "--port", str(port), "--interface", "rsgi"]
    elif reqwest:
        module, args = server_module("gateway"), ["bench._floor:reqwest_app", "--port", str(port)]
    else:
        module, args = "interchange.serve", ["bench._floor:app", "--port", str(port), "--no-proxy-headers"]
    name = "rsgi" if rsgi else "reqwest" if reqwest else "aiohttp"
    with serve(tmp / f"floor-{name}.log", args, env, module=module) as pid:
        yield f"http://127.0.0.1:{port}", pid


@contextmanager
def stub_gateway(tmp: Path, info: dict[str, Any], upstream: str) -> Iterator[tuple[str, int]]:
    """A second gateway, configured like the suite's (same database, keys, issuer and rate limits),
    whose marketplace is the stub; served as ``interchange up`` serves the gateway."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")} | {
        "INTERCHANGE_DATA_DIR": info["data_dir"],
        "INTERCHANGE_GATEWAY_URL": info["gateway"],
        "INTERCHANGE_ISSUER": info["gateway"],
        "INTERCHANGE_GATEWAY_MARKETPLACE_URL": upstream,
        "INTERCHANGE_GATEWAY_RATE_LIMITS": json.dumps(BENCH_LIMITS),
    }
    args = ["--factory", "gateway.app:create_app", "--port", str(port), *proxy_header_flags("gateway")]
    with serve(tmp / "stub-gateway.log", args, env, module=server_module("gateway")) as pid:
        yield f"http://127.0.0.1:{port}", pid


@contextmanager
def serve(log_path: Path, args: list[str], env: dict[str, str], *, module: str = "interchange.serve") -> Iterator[int]:
    """``module`` (``interchange.serve``: uvicorn; ``gateway.serve``: granian) as the launcher runs
    it (one process, no access log), until it answers."""
    command = [sys.executable, "-m", module, *args, "--host", "127.0.0.1", "--no-access-log"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [*command, "--log-level", "warning"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    port = args[args.index("--port") + 1]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(args)} did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def nginx(tmp: Path, upstream: str) -> Iterator[dict[str, Any] | None]:
    """nginx as a plain reverse proxy: one worker (the gateway is one process too), keepalive
    connections to the service, no access log, nothing else."""
    binary = shutil.which("nginx")
    if binary is None:
        yield None
        return
    prefix = tmp
    prefix.mkdir()
    port = free_port()
    host_port = upstream.removeprefix("http://")
    temp_paths = "\n".join(
        f"    {kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""
daemon off;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp_paths}
    upstream service {{ server {host_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://service;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
"""
    )
    process = subprocess.Popen(
        [binary, "-e", str(prefix / "error.log"), "-p", str(prefix), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(url + "/health/live", timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start:\n{(prefix / 'error.log').read_text()}") from None
                time.sleep(0.1)
        yield {"url": url, "pid": process.pid}
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()
