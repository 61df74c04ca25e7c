from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from gateway.app import refresh_state
from gateway.keys import KeySchedule, key_states, list_keys, load_key_ring, rotate_keys
from gateway.models import Base, SigningKey
from service_kit.auth import TokenVerifier
from service_kit.db import Database
from service_kit.errors import Unauthorized
from service_kit.http import RoutingTransport
from service_kit.secrets import SecretBox
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
        box = SecretBox(key_file=tmp_path / "secrets.key")
        rings = await asyncio.gather(*(load_key_ring(db, box=box) for db in dbs))
    finally:
        for db in dbs:
            await db.dispose()

    assert len({ring.signing_kid for ring in rings}) == 1
    token = jwt.encode({"alg": "RS256", "typ": "at+jwt"}, {"sub": "x"}, rings[0].signing)
    for ring in rings:
        assert jwt.decode(token, ring.public).claims == {"sub": "x"}


# Rotation


T0 = datetime(2026, 1, 1, tzinfo=UTC)
SCHEDULE = KeySchedule(publish_delay=600, retire_after=1020)  # 15 min tokens + 2 min margin


def key_row(seq: int, minutes: float, *, active: bool = True) -> SigningKey:
    return SigningKey(kid=f"k{seq}", seq=seq, jwk="{}", created_at=T0 + timedelta(minutes=minutes), active=active)


def states_at(rows: list[SigningKey], minutes: float) -> dict[str, tuple[str, datetime | None, datetime | None]]:
    now = T0 + timedelta(minutes=minutes)
    return {s.kid: (s.state, s.signs_from, s.published_until) for s in key_states(rows, now=now, schedule=SCHEDULE)}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_the_first_key_signs_at_once() -> None:
    assert states_at([key_row(1, 0)], 0) == {"k1": ("signing", at(0), None)}


def test_a_new_key_is_published_before_it_signs_and_the_old_one_after_it_stopped() -> None:
    rows = [key_row(1, 0), key_row(2, 60)]  # rotated an hour in

    assert states_at(rows, 61) == {"k1": ("signing", at(0), None), "k2": ("next", at(70), None)}
    # From the publish delay on the new key signs; the old one stays published for its tokens.
    assert states_at(rows, 70) == {"k1": ("retired", at(0), at(87)), "k2": ("signing", at(70), None)}
    assert states_at(rows, 86.9)["k1"][0] == "retired"
    # Every token k1 signed has expired (15 min lifetime, 2 min margin): due to be pruned.
    assert states_at(rows, 87)["k1"][0] == "expired"


def test_two_rotations_in_a_row_each_key_signs_in_turn() -> None:
    rows = [key_row(1, 0), key_row(2, 60), key_row(3, 65)]

    assert [s[0] for s in states_at(rows, 66).values()] == ["signing", "next", "next"]
    assert [s[0] for s in states_at(rows, 72).values()] == ["retired", "signing", "next"]
    assert [s[0] for s in states_at(rows, 76).values()] == ["retired", "retired", "signing"]


def test_an_inactive_key_never_signs() -> None:
    rows = [key_row(1, 0), key_row(2, 60, active=False)]

    assert states_at(rows, 120)["k1"][0] == "signing"
    assert states_at(rows, 120)["k2"][0] == "retired"


async def test_rotation_through_a_running_gateway(tmp_path: Path, contracts_dir: Path) -> None:
    service = FakeService()
    transport = RoutingTransport({"marketplace.test": httpx.ASGITransport(app=service)})
    settings = gateway_settings(tmp_path, contracts_dir)  # publish delay 600 s, tokens 900 s
    async with running_gateway(settings, transport) as gw:
        client_id, secret = await gw.register_partner("acme-market")
        old_token = await gw.token(client_id, secret)
        first = gw.app.state.keys.ring.signing_kid
        schedule = gw.app.state.keys.schedule

        states = await rotate_keys(gw.app.state.db, schedule, box=gw.app.state.keys.box)
        new = next(s for s in states if s.state == "next")
        await refresh_state(gw.app)

        # Published at once, not signing yet.
        assert {k["kid"] for k in (await gw.jwks())["keys"]} == {first, new.kid}
        assert _kid(await gw.token(client_id, secret)) == first

        assert new.signs_from is not None
        await refresh_state(gw.app, now=new.signs_from)
        new_token = await gw.token(client_id, secret)
        assert _kid(new_token) == new.kid
        for token in (old_token, new_token):  # the old key's tokens keep working
            resp = await gw.client.get("/marketplace/v1/orders", headers={"Authorization": f"Bearer {token}"})
            assert resp.status_code == 200

        await refresh_state(gw.app, now=new.signs_from + timedelta(seconds=schedule.retire_after))
        assert [k["kid"] for k in (await gw.jwks())["keys"]] == [new.kid]
        assert [s.kid for s in await list_keys(gw.app.state.db, schedule)] == [new.kid]  # pruned
        # (By now the old key's tokens have expired; a verifier on the JWKS no longer knows it.)
        fresh = TokenVerifier(issuer=GATEWAY_URL, audience="interchange", keys=KeySet.import_key_set(await gw.jwks()))
        with pytest.raises(Unauthorized, match="key we do not know"):
            await fresh.verify(old_token)


def _kid(token: str) -> str:
    segment = token.split(".")[0]
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return str(header["kid"])
