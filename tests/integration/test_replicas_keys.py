"""Signing keys rotated while two gateway replicas run (issue 9): both replicas sign with the same
key at every moment (the state follows from the shared table and the clock), the new key is in
both replicas' JWKS before either signs with it, a service that fetched its JWKS from one replica
before the rotation verifies the other replica's new tokens (it fetches again on the unknown
``kid``), and once the old key retires neither replica signs with it or publishes it.

Two gateway apps on one database and one secrets key, in process (what a replica does with the
keys is all in the database and the clock: no second process is needed to show it); each replica
re-reads the table as its refresh worker does (``refresh_state``), at the moments the test names."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from gateway.app import refresh_state
from gateway.keys import rotate_keys
from service_kit.auth import JWKS_REFETCH_INTERVAL, TokenVerifier
from tests.unit.gateway.conftest import GATEWAY_URL, Gateway, gateway_settings, running_gateway
from tests.unit.gateway.conftest import contracts_dir as contracts_dir  # the fixture


def kid(token: str) -> str:
    segment = token.split(".")[0]
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return str(header["kid"])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def service_verifier(replica: Gateway, clock: Clock) -> TokenVerifier:
    """A service's verifier whose JWKS URL (behind the load balancer) reached ``replica``."""
    jwks = f"{GATEWAY_URL}/.well-known/jwks.json"
    return TokenVerifier(issuer=GATEWAY_URL, audience="interchange", jwks_url=jwks, http=replica.client, clock=clock)


async def test_keys_rotated_while_two_replicas_run(tmp_path: Path, contracts_dir: Path) -> None:
    # Publish delay 600 s, tokens 900 s; the replicas' own refresh workers wait an hour, so that
    # only the test's refreshes (at the moments it names) move their state.
    settings = gateway_settings(tmp_path, contracts_dir, state_refresh_interval=3600.0)
    async with running_gateway(settings) as a, running_gateway(settings) as b:
        replicas = (a, b)
        client_id, secret = await a.register_partner("acme-market")
        clock = Clock()
        services = [service_verifier(a, clock), service_verifier(b, clock)]

        async def tokens() -> list[str]:
            return [await gw.token(client_id, secret) for gw in replicas]

        async def refresh(**at: Any) -> None:
            for gw in replicas:
                await refresh_state(gw.app, **at)

        async def published() -> list[set[str]]:
            return [{k["kid"] for k in (await gw.jwks())["keys"]} for gw in replicas]

        before = await tokens()
        old = kid(before[0])
        assert {kid(t) for t in before} == {old}
        for service in services:  # each fetches its JWKS now, before the rotation
            for token in before:
                await service.verify(token)

        schedule = a.app.state.keys.schedule
        states = await rotate_keys(a.app.state.db, schedule, box=a.app.state.keys.box)  # on replica A
        new = next(s for s in states if s.state == "next")
        assert new.signs_from is not None
        await refresh()
        assert await published() == [{old, new.kid}] * 2  # both publish it before either signs with it
        assert {kid(t) for t in await tokens()} == {old}

        await refresh(now=new.signs_from)
        clock.now += JWKS_REFETCH_INTERVAL  # the services' JWKS is older than the refetch pause
        after = await tokens()
        assert {kid(t) for t in after} == {new.kid}  # both switch together
        for service in services:  # a's tokens at the service that asked b, and b's at a's
            for token in [*before, *after]:
                assert (await service.verify(token))["client_id"] == client_id

        await refresh(now=new.signs_from + timedelta(seconds=schedule.retire_after))
        assert await published() == [{new.kid}] * 2
        assert {kid(t) for t in await tokens()} == {new.kid}  # no replica signs with the retired key
