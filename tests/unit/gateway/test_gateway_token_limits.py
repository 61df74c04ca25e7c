"""Brute-force protection at the token endpoint: failed client authentications per client id and
per address; past a limit a 429 problem+json with Retry-After, and the secret is not checked;
successes do not count; one lockout log line and metric; the rate limiter's storage and fallback.

The limiter's clock is frozen (``Clock``) so a window never ends in the middle of a test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.counters import RateLimitConfigError, RedisCounters
from gateway.tokenlimit import FailureLimit, TokenFailureLimiter
from tests.unit.gateway.conftest import GATEWAY_URL, Gateway, gateway_settings, running_gateway

GRANT = {"grant_type": "client_credentials"}
PROBLEM = "application/problem+json"
WRONG = "wrong-secret"


class Clock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.events.append((event, fields))

    info = warning

    def named(self, event: str) -> list[dict[str, Any]]:
        return [fields for name, fields in self.events if name == event]


class FlakyCounters:
    """A shared storage (what several replicas' limiters share in Redis) that can be switched off."""

    def __init__(self) -> None:
        self.up = True
        self.counts: dict[str, int] = {}

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        if not self.up:
            raise ConnectionRefusedError("redis is down")
        self.counts[key] = self.counts.get(key, 0) + amount
        return self.counts[key]

    async def get(self, key: str) -> int:
        if not self.up:
            raise ConnectionRefusedError("redis is down")
        return self.counts.get(key, 0)


@contextlib.asynccontextmanager
async def limited_gateway(
    tmp_path: Path, contracts_dir: Path, clock: Clock, **overrides: Any
) -> AsyncIterator[Gateway]:
    limits = {"auth_failure_limit_per_client": "3/minute", "auth_failure_limit_per_address": "5/minute"}
    async with running_gateway(gateway_settings(tmp_path, contracts_dir, **(limits | overrides))) as gw:
        gw.app.state.token_limiter.clock = clock
        yield gw


@contextlib.asynccontextmanager
async def from_address(gw: Gateway, host: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gw.app, client=(host, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=GATEWAY_URL) as client:
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr("gateway.tokenlimit.log", recorder)
    return recorder


async def test_a_client_id_past_its_failures_gets_a_429_problem_even_with_the_right_secret(
    tmp_path: Path, contracts_dir: Path, clock: Clock
) -> None:
    async with limited_gateway(tmp_path, contracts_dir, clock) as gw:
        client_id, secret = await gw.register_partner("acme-market")
        failures = [await gw.client.post("/oauth2/token", data=GRANT, auth=(client_id, WRONG)) for _ in range(3)]

        locked = await gw.client.post("/oauth2/token", data=GRANT, auth=(client_id, secret))
        by_form = await gw.client.post("/oauth2/token", data=GRANT | {"client_id": client_id, "client_secret": secret})
        other = await gw.client.post("/oauth2/token", data=GRANT, auth=await gw.register_partner("zenith-market"))

    assert [r.status_code for r in failures] == [401, 401, 401]
    assert locked.status_code == by_form.status_code == 429
    assert locked.headers["content-type"] == PROBLEM
    assert locked.headers["cache-control"] == "no-store"
    retry_after = int(locked.headers["retry-after"])
    assert 1 <= retry_after <= 60
    problem = locked.json()
    assert problem["type"] == "urn:interchange:problem:rate-limited"
    assert problem["status"] == 429
    assert problem["instance"] == "/oauth2/token"
    assert "this client id" in problem["detail"]
    assert "Check the client id and secret" in problem["detail"]
    assert f"try again in {retry_after} seconds" in problem["detail"]
    assert other.status_code == 200  # another client id from the same address is below both limits


async def test_a_locked_request_reads_neither_the_registry_nor_the_secret(
    tmp_path: Path, contracts_dir: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with limited_gateway(tmp_path, contracts_dir, clock) as gw:
        client_id, secret = await gw.register_partner("acme-market")
        for _ in range(3):
            await gw.client.post("/oauth2/token", data=GRANT, auth=(client_id, WRONG))
        looked_up: list[Any] = []

        async def find_clients(session: Any, ids: Any) -> dict[str, Any]:
            looked_up.append(ids)
            return {}

        monkeypatch.setattr("gateway.oauth.find_clients", find_clients)
        resp = await gw.client.post("/oauth2/token", data=GRANT, auth=(client_id, secret))

    assert resp.status_code == 429
    assert looked_up == []


async def test_successful_authentications_do_not_count(tmp_path: Path, contracts_dir: Path, clock: Clock) -> None:
    async with limited_gateway(tmp_path, contracts_dir, clock) as gw:
        client_id, secret = await gw.register_partner("acme-market")
        successes = [await gw.client.post("/oauth2/token", data=GRANT, auth=(client_id, secret)) for _ in range(10)]
        failures = [await gw.client.post("/oauth2/token", data=GRANT, auth=(client_id, WRONG)) for _ in range(2)]
        still = await gw.client.post("/oauth2/token", data=GRANT, auth=(client_id, secret))
        # A wrong scope is not a failed authentication either.
        scoped = [
            await gw.client.post("/oauth2/token", data=GRANT | {"scope": "erp:read"}, auth=(client_id, secret))
            for _ in range(3)
        ]
        after = await gw.client.post("/oauth2/token", data=GRANT, auth=(client_id, secret))

    assert {r.status_code for r in successes} == {200}
    assert {r.status_code for r in failures} == {401}
    assert still.status_code == 200
    assert {r.status_code for r in scoped} == {400}
    assert after.status_code == 200


async def test_unknown_client_ids_are_locked_exactly_like_registered_ones(
    tmp_path: Path, contracts_dir: Path, clock: Clock
) -> None:
    async with limited_gateway(tmp_path, contracts_dir, clock, auth_failure_limit_per_address="100/minute") as gw:
        client_id, _ = await gw.register_partner("acme-market")
        answers = {}
        for claimed in (client_id, "no-such-client"):
            for _ in range(3):
                await gw.client.post("/oauth2/token", data=GRANT, auth=(claimed, WRONG))
            answers[claimed] = await gw.client.post("/oauth2/token", data=GRANT, auth=(claimed, WRONG))

    known, unknown = answers[client_id], answers["no-such-client"]
    assert known.status_code == unknown.status_code == 429
    assert known.headers["retry-after"] == unknown.headers["retry-after"]
    differs = {"correlation_id"}
    assert {k: v for k, v in known.json().items() if k not in differs} == {
        k: v for k, v in unknown.json().items() if k not in differs
    }


async def test_an_address_past_its_failures_is_refused_for_every_client_id_and_others_are_not(
    tmp_path: Path, contracts_dir: Path, clock: Clock
) -> None:
    async with limited_gateway(tmp_path, contracts_dir, clock) as gw:
        client_id, secret = await gw.register_partner("acme-market")
        async with from_address(gw, "203.0.113.7") as attacker, from_address(gw, "198.51.100.2") as partner:
            # Five different made-up ids, one failure each: no client id is near its limit.
            spray = [await attacker.post("/oauth2/token", data=GRANT, auth=(f"guess-{i}", WRONG)) for i in range(5)]
            no_credentials = await attacker.post("/oauth2/token", data=GRANT)
            refused = await attacker.post("/oauth2/token", data=GRANT, auth=(client_id, secret))
            elsewhere = await partner.post("/oauth2/token", data=GRANT, auth=(client_id, secret))

    assert {r.status_code for r in spray} == {401}
    assert no_credentials.status_code == 429
    assert refused.status_code == 429
    assert "this address" in refused.json()["detail"]
    assert elsewhere.status_code == 200


async def test_failures_from_other_addresses_do_not_lock_the_partner_out_of_its_tokens(
    tmp_path: Path, contracts_dir: Path, clock: Clock
) -> None:
    limits = {
        "auth_failure_limit_per_client_address": "3/minute",
        "auth_failure_limit_per_address": "30/minute",
        "auth_failure_limit_per_client": "5/minute",
    }
    async with limited_gateway(tmp_path, contracts_dir, clock, **limits) as gw:
        client_id, secret = await gw.register_partner("acme-market")
        attackers = [f"203.0.113.{i}" for i in range(1, 5)]
        failures = []
        for host in attackers:  # 3 tries from each of 4 addresses
            async with from_address(gw, host) as attacker:
                failures += [
                    await attacker.post("/oauth2/token", data=GRANT, auth=(client_id, WRONG)) for _ in range(3)
                ]
        async with from_address(gw, attackers[0]) as attacker:
            pair_locked = await attacker.post("/oauth2/token", data=GRANT, auth=(client_id, secret))
        async with from_address(gw, "203.0.113.99") as fresh:
            first_try = await fresh.post("/oauth2/token", data=GRANT, auth=(client_id, WRONG))
            id_locked = await fresh.post("/oauth2/token", data=GRANT, auth=(client_id, secret))
        async with from_address(gw, "198.51.100.2") as partner:
            partners = [await partner.post("/oauth2/token", data=GRANT, auth=(client_id, secret)) for _ in range(3)]

    # Past the id's 5 failures, an address that has failed for it is refused; its first try is not.
    assert [r.status_code for r in failures] == [401, 401, 401] + [401, 401, 429] + [401, 429, 429] * 2
    assert pair_locked.status_code == 429
    assert "this client id from this address" in pair_locked.json()["detail"]
    assert first_try.status_code == 401  # an address that has not failed yet is not refused for the id
    assert id_locked.status_code == 429  # past the id's limit, an address that failed is refused
    assert "this client id:" in id_locked.json()["detail"]
    assert [r.status_code for r in partners] == [200, 200, 200]  # the partner's own address never failed


async def test_requests_without_credentials_count_against_the_address(
    tmp_path: Path, contracts_dir: Path, clock: Clock
) -> None:
    async with limited_gateway(tmp_path, contracts_dir, clock) as gw:
        answers = [await gw.client.post("/oauth2/token", data=GRANT) for _ in range(6)]

    assert [r.status_code for r in answers] == [401] * 5 + [429]


async def test_the_next_window_admits_again(tmp_path: Path, contracts_dir: Path, clock: Clock) -> None:
    async with limited_gateway(tmp_path, contracts_dir, clock) as gw:
        client_id, secret = await gw.register_partner("acme-market")
        for _ in range(3):
            await gw.client.post("/oauth2/token", data=GRANT, auth=(client_id, WRONG))
        locked = await gw.client.post("/oauth2/token", data=GRANT, auth=(client_id, secret))
        clock.now += int(locked.headers["retry-after"])
        admitted = await gw.client.post("/oauth2/token", data=GRANT, auth=(client_id, secret))

    assert locked.status_code == 429
    assert admitted.status_code == 200


async def test_a_lockout_is_logged_once_and_counted(
    tmp_path: Path, contracts_dir: Path, clock: Clock, logs: Recorder
) -> None:
    async with limited_gateway(tmp_path, contracts_dir, clock) as gw:
        client_id, _ = await gw.register_partner("acme-market")
        for _ in range(8):
            await gw.client.post("/oauth2/token", data=GRANT, auth=(client_id, WRONG))
        registry = gw.app.state.registry
        by_client = registry.get_sample_value("interchange_gateway_token_lockouts_total", {"by": "client_id"})
        by_address = registry.get_sample_value("interchange_gateway_token_lockouts_total", {"by": "address"})

    locked = logs.named("token_endpoint_locked")
    assert [e["by"] for e in locked] == ["client_id"]  # 3 failures locked the id; the rest were refused
    assert locked[0]["client_id"] == "acme-market"
    assert locked[0]["failures"] == 3
    assert by_client == 1
    assert by_address == 0


def limiter(shared: FlakyCounters | None, clock: Clock, *, replicas: int = 1) -> TokenFailureLimiter:
    return TokenFailureLimiter(
        per_client_address=FailureLimit.parse("client_address", "4/hour", replicas=replicas),
        per_address=FailureLimit.parse("address", "100/hour", replicas=replicas),
        per_client=FailureLimit.parse("client_id", "100/hour", replicas=replicas),
        shared=shared,
        retry_interval=30,
        clock=clock,
    )


async def fail_until_locked(lim: TokenFailureLimiter, client_id: str, *, at_most: int = 10) -> int:
    """Failed authentications admitted before the client id is locked."""
    for admitted in range(at_most):
        try:
            await lim.check(client_id=client_id, address="192.0.2.1")
        except Exception:
            return admitted
        await lim.failed(client_id=client_id, address="192.0.2.1")
    return at_most


async def test_replicas_sharing_the_storage_share_the_count_and_log_the_lockout_once(logs: Recorder) -> None:
    shared, clock = FlakyCounters(), Clock()
    one, two = limiter(shared, clock), limiter(shared, clock)

    for replica in (one, two, one):
        await replica.check(client_id="acme", address="192.0.2.1")
        await replica.failed(client_id="acme", address="192.0.2.1")
    await two.failed(client_id="acme", address="192.0.2.1")  # the fourth failure, on the other replica

    for replica in (one, two):
        with pytest.raises(Exception, match="this client id"):
            await replica.check(client_id="acme", address="192.0.2.1")
    assert len(logs.named("token_endpoint_locked")) == 1


async def test_while_the_storage_is_down_each_replica_admits_its_share_then_goes_back(logs: Recorder) -> None:
    shared, clock = FlakyCounters(), Clock()
    lim = limiter(shared, clock, replicas=2)
    shared.up = False

    admitted_while_down = await fail_until_locked(lim, "acme")
    shared.up = True
    clock.now += 30  # the retry interval: the next request probes the storage again
    admitted_after = await fail_until_locked(lim, "zenith")

    assert admitted_while_down == 2  # 4/hour over 2 replicas
    assert admitted_after == 4
    assert [name for name, _ in logs.events if "storage" in name] == [
        "token_limit_storage_unavailable",
        "token_limit_storage_recovered",
    ]
    assert shared.counts  # counted in the shared storage again


def test_limits_the_gateway_cannot_run_with_stop_it_at_start_up() -> None:
    for text in ("ten per minute", "0/minute", "10/minute;20/hour"):
        with pytest.raises(RateLimitConfigError):
            FailureLimit.parse("client_id", text)
    assert FailureLimit.parse("address", "30/minute", replicas=4) == FailureLimit("address", 30, 7, 60)


async def test_one_redis_pool_counts_the_rate_limits_and_the_failed_authentications(
    tmp_path: Path, contracts_dir: Path
) -> None:
    settings = gateway_settings(tmp_path, contracts_dir, rate_limit_storage="redis://127.0.0.1:6399/2")
    async with running_gateway(settings) as gw:
        counters = gw.app.state.limit_counters
        token_storage = gw.app.state.token_limiter.shared
        rate_storage = gw.app.state.rate_limiter._shared.shared

    assert isinstance(counters, RedisCounters)
    assert token_storage is rate_storage is counters
    async with running_gateway(gateway_settings(tmp_path / "memory", contracts_dir)) as gw:
        assert gw.app.state.token_limiter.shared is None
