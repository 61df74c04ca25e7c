from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from gateway.keys import load_key_ring
from gateway.models import Base
from service_kit.auth import TokenVerifier
from service_kit.db import Database
from service_kit.http import RoutingTransport
from tests.unit.gateway.conftest import GATEWAY_URL, FakeService, gateway_settings, running_gateway


async def test_tokens_stay_valid_across_a_restart(tmp_path: Path, contracts_dir: Path) -> None:
    settings = gateway_settings(tmp_path, contracts_dir)
    async with running_gateway(settings) as first:
        client_id, secret = await first.register_partner("acme-market")
        token = await first.token(client_id, secret)
        first_jwks = await first.jwks()

    service = FakeService()
    transport = RoutingTransport({"marketplace.test": httpx.ASGITransport(app=service)})
    async with running_gateway(settings, transport) as second:
        second_jwks = await second.jwks()
        proxied = await second.client.get("/marketplace/v1/orders", headers={"Authorization": f"Bearer {token}"})

    assert second_jwks == first_jwks
    verifier = TokenVerifier(issuer=GATEWAY_URL, audience="interchange", keys=KeySet.import_key_set(second_jwks))
    assert (await verifier.verify(token))["client_id"] == "acme-market"
    assert proxied.status_code == 200
    assert len(service.seen) == 1


async def test_workers_starting_together_on_an_empty_database_agree_on_one_key(tmp_path: Path) -> None:
    dbs = [Database(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}", metadata=[Base.metadata]) for _ in range(3)]
    await dbs[0].create_schema()
    try:
        rings = await asyncio.gather(*(load_key_ring(db) for db in dbs))
    finally:
        for db in dbs:
            await db.dispose()

    assert len({ring.signing_kid for ring in rings}) == 1
    token = jwt.encode({"alg": "RS256", "typ": "at+jwt"}, {"sub": "x"}, rings[0].signing)
    for ring in rings:
        assert jwt.decode(token, ring.public).claims == {"sub": "x"}
