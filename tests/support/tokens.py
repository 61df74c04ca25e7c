"""Tokens for tests that run one service on its own: a test signing key, a verifier that trusts
it, and a helper that mints RFC 9068 access tokens with the claims the gateway would put in."""

from __future__ import annotations

import time
import uuid
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from service_kit.auth import TokenVerifier

ISSUER = "http://issuer.test"
AUDIENCE = "interchange"

_KEYS = KeySet([RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})])


def static_verifier() -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=_KEYS)


def mint_token(
    *scopes: str,
    client_id: str = "test-client",
    partner_id: str | None = None,
    channel: str | None = None,
    tier: str = "standard",
    lifetime: int = 900,
    **extra: Any,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": client_id,
        "client_id": client_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
        "scope": " ".join(scopes),
        "tier": tier,
    }
    if partner_id:
        claims["partner_id"] = partner_id
    if channel:
        claims["channel"] = channel
    claims.update(extra)
    header = {"alg": "RS256", "typ": "at+jwt", "kid": "test-key"}
    return jwt.encode(header, claims, _KEYS)


def bearer(*scopes: str, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(*scopes, **kwargs)}"}
