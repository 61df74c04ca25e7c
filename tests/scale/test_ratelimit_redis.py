"""Two gateway replicas sharing one Redis admit, together, exactly the limit per window.

Real processes: a ``redis-server`` started by the test, two ``uvicorn --factory gateway.app:create_app``
on free ports over one gateway database and one contracts directory, and a fake marketplace
service (a thread in this process) behind them. One client calls both replicas in turn. Then
Redis stops, and each replica falls back to its own share of the limit: still no 500, and
together still no more than the limit. Nothing here is timed: windows are a day long, and the
client is picked so that its windows do not end during the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from gateway.clients import create_client
from gateway.models import Base
from gateway.ratelimit import window_of
from service_kit.db import Database
from tests.support.redis_server import free_port, redis_server_url
from tests.unit.gateway.conftest import MARKETPLACE_V1, PARTNER_SCOPES, write_contract

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ISSUER = "http://gateway.scale.test"
READS, WRITES = 7, 3
DAY = 86_400
UVICORN = [sys.executable, "-m", "uvicorn", "--factory", "gateway.app:create_app", "--host", "127.0.0.1"]
UVICORN += ["--no-access-log", "--log-level", "warning"]


class FakeMarketplace(BaseHTTPRequestHandler):
    """Answers every call with 200 and counts them (the server's ``calls``)."""

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.calls.append(self.command)  # type: ignore[attr-defined]
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def marketplace() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMarketplace)
    server.lock = threading.Lock()  # type: ignore[attr-defined]
    server.calls = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def pick_client_id(prefix: str) -> str:
    """A client id whose reads and writes windows both have more than an hour to run."""
    now = time.time()
    for n in range(1000):
        client_id = f"{prefix}-{n}"
        if all(window_of(f"{client_id}/{c}", DAY, now)[1] > 3600 for c in ("reads", "writes")):
            return client_id
    raise AssertionError("no client id found")  # 1000 tries at ~96% each: never


async def register(data_dir: Path, client_id: str) -> str:
    db = Database(f"sqlite+aiosqlite:///{data_dir / 'gateway.db'}", metadata=[Base.metadata])
    try:
        await db.create_schema()
        _, secret = await create_client(
            db, client_id=client_id, kind="partner", partner_id=client_id, channel="marketplace", scopes=PARTNER_SCOPES
        )
    finally:
        await db.dispose()
    return secret


class Replica:
    def __init__(self, name: str, data_dir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / f"{name}.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*UVICORN, "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gateway exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"gateway not ready:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def gateway_env(data_dir: Path, contracts: Path, marketplace_url: str, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")}
    return env | {
        "INTERCHANGE_DATA_DIR": str(data_dir),
        "INTERCHANGE_ISSUER": ISSUER,
        "INTERCHANGE_GATEWAY_URL": ISSUER,
        "INTERCHANGE_LOG_LEVEL": "warning",
        "INTERCHANGE_GATEWAY_CONTRACTS_DIR": str(contracts),
        "INTERCHANGE_GATEWAY_MARKETPLACE_URL": marketplace_url,
        "INTERCHANGE_GATEWAY_RATE_LIMIT_STORAGE": redis_url,
        "INTERCHANGE_GATEWAY_RATE_LIMIT_REPLICAS": "2",
        "INTERCHANGE_GATEWAY_RATE_LIMITS": json.dumps(
            {"standard": {"reads": f"{READS}/day", "writes": f"{WRITES}/day"}}
        ),
        "AUTHLIB_INSECURE_TRANSPORT": "1",
    }


def token(gateway: str, client_id: str, secret: str) -> dict[str, str]:
    resp = httpx.post(f"{gateway}/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def remaining(resp: httpx.Response) -> int:
    return int(resp.headers["ratelimit"].split(";r=")[1].split(";")[0])


def test_two_replicas_sharing_redis_admit_exactly_the_limit(tmp_path: Path, marketplace: ThreadingHTTPServer) -> None:
    data_dir = tmp_path / "gateway"
    data_dir.mkdir()
    contracts = tmp_path / "contracts"
    write_contract(contracts, "marketplace", "v1", MARKETPLACE_V1)
    client_id, other_id = pick_client_id("acme-scale"), pick_client_id("zenith-scale")
    secrets = {cid: asyncio.run(register(data_dir, cid)) for cid in (client_id, other_id)}
    marketplace_url = f"http://127.0.0.1:{marketplace.server_address[1]}"

    with contextlib.ExitStack() as stack, httpx.Client(timeout=10) as http:
        redis = stack.enter_context(contextlib.ExitStack())
        redis_url = redis.enter_context(redis_server_url(tmp_path / "redis"))
        replicas: list[Replica] = []
        stack.callback(lambda: [replica.stop() for replica in replicas])
        env = gateway_env(data_dir, contracts, marketplace_url, redis_url)
        for name in ("a", "b"):  # one after the other: the first creates the signing key
            replicas.append(Replica(name, data_dir, env))
            replicas[-1].wait_ready()
        auth = token(replicas[0].url, client_id, secrets[client_id])
        other = token(replicas[0].url, other_id, secrets[other_id])

        def alternately(method: str, path: str, n: int, headers: dict[str, str]) -> list[httpx.Response]:
            return [http.request(method, replicas[i % 2].url + path.format(i=i), headers=headers) for i in range(n)]

        reads = alternately("GET", "/marketplace/v1/orders/MP-{i}", 2 * READS, auth)
        writes = alternately("POST", "/marketplace/v1/orders", 3 * WRITES, auth | {"content-type": "application/json"})
        calls_with_redis = list(marketplace.calls)  # type: ignore[attr-defined]

        redis.close()  # Redis stops; both replicas fall back to their own share
        degraded = alternately("GET", "/marketplace/v1/orders", 2 * READS, other)

    assert [r.status_code for r in reads] == [200] * READS + [429] * READS
    assert [remaining(r) for r in reads[:READS]] == list(range(READS - 1, -1, -1))  # one counter, both replicas
    assert [r.status_code for r in writes] == [200] * WRITES + [429] * (2 * WRITES)
    assert calls_with_redis.count("GET") == READS
    assert calls_with_redis.count("POST") == WRITES
    refused = reads[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) > 3600

    statuses = [r.status_code for r in degraded]
    assert 500 not in statuses
    assert statuses.count(200) == 2 * (READS // 2)  # each replica its share: together never over the limit
    assert {r.headers["ratelimit-policy"] for r in degraded} == {f'"reads";q={READS // 2};w={DAY}'}


def test_three_replicas_and_twenty_concurrent_clients_admit_not_one_call_over_the_limit(
    tmp_path: Path, marketplace: ThreadingHTTPServer
) -> None:
    """The issue's case (issue 9): 3 gateway processes on one Redis, 20 clients calling at once,
    spread over the replicas; the partner's calls admitted are exactly its limit, none over."""
    limit, clients, calls_each = 40, 20, 6
    data_dir = tmp_path / "gateway"
    data_dir.mkdir()
    contracts = tmp_path / "contracts"
    write_contract(contracts, "marketplace", "v1", MARKETPLACE_V1)
    client_id = pick_client_id("burst-scale")
    secret = asyncio.run(register(data_dir, client_id))
    marketplace_url = f"http://127.0.0.1:{marketplace.server_address[1]}"

    with contextlib.ExitStack() as stack:
        redis_url = stack.enter_context(redis_server_url(tmp_path / "redis"))
        replicas: list[Replica] = []
        stack.callback(lambda: [replica.stop() for replica in replicas])
        env = gateway_env(data_dir, contracts, marketplace_url, redis_url) | {
            "INTERCHANGE_GATEWAY_RATE_LIMIT_REPLICAS": "3",
            "INTERCHANGE_GATEWAY_RATE_LIMITS": json.dumps({"standard": {"reads": f"{limit}/day", "writes": "3/day"}}),
        }
        for name in ("a", "b", "c"):  # one after the other: the first creates the signing key
            replicas.append(Replica(name, data_dir, env))
            replicas[-1].wait_ready()
        auth = token(replicas[0].url, client_id, secret)

        async def client(n: int, http: httpx.AsyncClient) -> list[int]:
            statuses = []
            for i in range(calls_each):
                replica = replicas[(n + i) % len(replicas)]
                resp = await http.get(f"{replica.url}/marketplace/v1/orders/MP-{n}-{i}", headers=auth)
                statuses.append(resp.status_code)
            return statuses

        async def burst() -> list[int]:
            limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
            async with httpx.AsyncClient(timeout=30, limits=limits) as http:
                answers = await asyncio.gather(*(client(n, http) for n in range(clients)))
            return [status for statuses in answers for status in statuses]

        statuses = asyncio.run(burst())

    assert len(statuses) == clients * calls_each  # 120 calls for a limit of 40
    assert statuses.count(200) == limit  # 0 over-admission (and none refused under the limit)
    assert statuses.count(429) == clients * calls_each - limit
    assert marketplace.calls.count("GET") == limit  # type: ignore[attr-defined]
