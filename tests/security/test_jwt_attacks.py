"""Forged and tampered access tokens against the gateway: each is a 401 problem+json, and the
service behind it receives nothing. The same verifier (service_kit.auth.TokenVerifier) guards
every service; tests/unit/service_kit/test_auth.py runs these attacks against it directly.

Every forged token is signed with the gateway's own private key unless the attack is about the key,
so what is refused is the flaw named in the test, not a bad signature. A valid token forged the
same way is accepted (the control), which shows the forgery itself is sound."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from joserfc.jwk import RSAKey

from gateway.clients import disable_client
from tests.security.forge import claims_for, hs256, private_key, rs256, unsigned
from tests.unit.gateway.conftest import GATEWAY_URL, FakeService, Gateway

PROBLEM = "application/problem+json"
SCOPE = "marketplace:orders.read marketplace:orders.write"
ORDERS = "/marketplace/v1/orders"


@dataclass
class Forger:
    """Tokens for acme-market (a registered, enabled partner), signed with the gateway's key."""

    key: RSAKey
    kid: str

    def header(self, **changes: Any) -> dict[str, Any]:
        header: dict[str, Any] = {"alg": "RS256", "typ": "at+jwt", "kid": self.kid}
        header.update(changes)
        return {k: v for k, v in header.items() if v is not None}

    def claims(self, **changes: Any) -> dict[str, Any]:
        claims = claims_for(issuer=GATEWAY_URL, client_id="acme-market", scope=SCOPE, partner_id="acme-market")
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, header: dict[str, Any] | None = None, **claim_changes: Any) -> str:
        return rs256(self.key, header or self.header(), self.claims(**claim_changes))


@pytest.fixture
async def forger(gateway: Gateway) -> Forger:
    await gateway.register_partner("acme-market")
    key = private_key(gateway.app.state.keys.ring.signing)
    return Forger(key=key, kid=str(key.kid))


async def assert_refused(gateway: Gateway, marketplace: FakeService, token: str) -> dict[str, Any]:
    resp = await gateway.client.get(ORDERS, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401, resp.text
    assert resp.headers["content-type"] == PROBLEM
    assert resp.headers["www-authenticate"].startswith("Bearer")
    body = resp.json()
    assert body["type"] == "urn:interchange:problem:unauthorized"
    assert body["status"] == 401
    assert marketplace.seen == [], "the service must receive nothing"
    return dict(body)


async def test_control_a_correctly_forged_token_is_accepted(
    gateway: Gateway, marketplace: FakeService, forger: Forger
) -> None:
    resp = await gateway.client.get(ORDERS, headers={"Authorization": f"Bearer {forger.token()}"})

    assert resp.status_code == 200, resp.text
    assert len(marketplace.seen) == 1


def now() -> int:
    return int(time.time())


# Each: (id, how to build the token from the forger).
ATTACKS: list[tuple[str, Callable[[Forger], str]]] = [
    ("alg-none", lambda f: unsigned(f.header(alg="none"), f.claims())),
    ("alg-none-capitalised", lambda f: unsigned(f.header(alg="None"), f.claims())),
    ("alg-missing", lambda f: f.token(f.header(alg=None))),
    ("alg-rs512-outside-allowlist", lambda f: rs256(f.key, f.header(alg="RS512"), f.claims(), hash_name="sha512")),
    ("alg-ps256-outside-allowlist", lambda f: f.token(f.header(alg="PS256"))),
    ("exp-missing", lambda f: f.token(exp=None)),
    ("exp-past", lambda f: f.token(iat=now() - 3600, exp=now() - 1800)),
    ("exp-not-a-number", lambda f: f.token(exp="never")),
    ("nbf-future", lambda f: f.token(nbf=now() + 3600)),
    ("iat-future", lambda f: f.token(iat=now() + 3600, exp=now() + 4500)),
    ("iat-missing", lambda f: f.token(iat=None)),
    ("aud-other", lambda f: f.token(aud="billing")),
    ("aud-prefix", lambda f: f.token(aud="interchange-evil")),
    ("aud-case", lambda f: f.token(aud="Interchange")),
    ("aud-list-without-us", lambda f: f.token(aud=["billing", "crm"])),
    ("aud-missing", lambda f: f.token(aud=None)),
    ("iss-other", lambda f: f.token(iss="http://evil.test")),
    ("iss-trailing-slash", lambda f: f.token(iss=GATEWAY_URL + "/")),
    ("iss-case", lambda f: f.token(iss=GATEWAY_URL.upper())),
    ("iss-missing", lambda f: f.token(iss=None)),
    ("typ-jwt", lambda f: f.token(f.header(typ="JWT"))),
    ("typ-missing", lambda f: f.token(f.header(typ=None))),
    ("typ-id-token", lambda f: f.token(f.header(typ="id_token+jwt"))),
    ("kid-unknown", lambda f: f.token(f.header(kid="rogue-key"))),
    ("kid-missing", lambda f: f.token(f.header(kid=None))),
    ("crit-unknown", lambda f: f.token(f.header(crit=["x-interchange-bind"], **{"x-interchange-bind": True}))),
    ("crit-b64-false", lambda f: f.token(f.header(crit=["b64"], b64=False))),
    ("crit-empty-list", lambda f: f.token(f.header(crit=[]))),
    ("crit-not-a-list", lambda f: f.token(f.header(crit="exp"))),
    ("client-id-missing", lambda f: f.token(client_id=None)),
    ("jti-missing", lambda f: f.token(jti=None)),
    ("sub-missing", lambda f: f.token(sub=None)),
]


@pytest.mark.parametrize("forge", [a[1] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
async def test_a_forged_token_is_refused_and_the_service_untouched(
    gateway: Gateway, marketplace: FakeService, forger: Forger, forge: Callable[[Forger], str]
) -> None:
    await assert_refused(gateway, marketplace, forge(forger))


@pytest.mark.parametrize("secret", ["pem", "jwk"])
async def test_hs256_signed_with_the_public_key_is_refused(
    gateway: Gateway, marketplace: FakeService, forger: Forger, secret: str
) -> None:
    # Key confusion: a verifier that let the header choose the algorithm would check this HMAC
    # with the "key" it has, the RSA public key, which everyone can fetch from the JWKS.
    jwks = await gateway.jwks()
    public = RSAKey.import_key(jwks["keys"][0])
    key_bytes = public.as_pem(private=False) if secret == "pem" else json.dumps(jwks["keys"][0]).encode()
    token = hs256(key_bytes, forger.header(alg="HS256"), forger.claims())

    await assert_refused(gateway, marketplace, token)


async def test_a_token_signed_by_another_key_under_our_kid_is_refused(
    gateway: Gateway, marketplace: FakeService, forger: Forger
) -> None:
    rogue = RSAKey.generate_key(2048, {"alg": "RS256"}, private=True)
    token = rs256(rogue, forger.header(), forger.claims())

    await assert_refused(gateway, marketplace, token)


async def test_a_tampered_claim_breaks_the_signature(
    gateway: Gateway, marketplace: FakeService, forger: Forger
) -> None:
    # A real token of acme-market, its payload swapped for zenith-market's identity.
    genuine = forger.token()
    header, _, signature = genuine.split(".")
    forged_claims = rs256(forger.key, forger.header(), forger.claims(partner_id="zenith-market")).split(".")[1]

    await assert_refused(gateway, marketplace, f"{header}.{forged_claims}.{signature}")


@pytest.mark.parametrize(
    "token",
    ["", "a.b", "a.b.c", "a.b.c.d.e", "not base64!.x.y", "eyJhbGciOiJSUzI1NiJ9.W10.", "é.é.é"],
    ids=["empty", "two-parts", "garbage", "jwe-shaped", "bad-base64", "claims-not-an-object", "not-ascii"],
)
async def test_malformed_tokens_are_refused(gateway: Gateway, marketplace: FakeService, token: str) -> None:
    resp = await gateway.client.get(ORDERS, headers={"Authorization": f"Bearer {token}".encode()})

    assert resp.status_code == 401
    assert resp.headers["content-type"] == PROBLEM
    assert marketplace.seen == []


async def test_a_leeway_of_seconds_is_tolerated_not_more(
    gateway: Gateway, marketplace: FakeService, forger: Forger
) -> None:
    # Clock skew between issuer and gateway: 10 s early is fine, an hour is not (nbf-future above).
    resp = await gateway.client.get(ORDERS, headers={"Authorization": f"Bearer {forger.token(nbf=now() + 10)}"})

    assert resp.status_code == 200
    assert len(marketplace.seen) == 1


async def test_a_disabled_clients_tokens_are_refused_at_the_gateway(
    gateway: Gateway, marketplace: FakeService, forger: Forger
) -> None:
    from gateway.app import refresh_state

    auth = {"Authorization": f"Bearer {forger.token()}"}
    before = await gateway.client.get(ORDERS, headers=auth)  # verified, and cached by the verifier
    assert before.status_code == 200
    marketplace.seen.clear()

    await disable_client(gateway.app.state.db, "acme-market")
    await refresh_state(gateway.app)  # what the refresh worker does every few seconds

    body = await assert_refused(gateway, marketplace, auth["Authorization"].removeprefix("Bearer "))
    assert "disabled" in body["detail"]
