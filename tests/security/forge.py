"""Forged and malformed access tokens, signed by hand (no JOSE library would produce most of them):
the attacks the token verifier must refuse."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from joserfc.jwk import KeySet, RSAKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def signing_input(header: dict[str, Any], claims: dict[str, Any]) -> bytes:
    return f"{_segment(header)}.{_segment(claims)}".encode("ascii")


def rs256(key: RSAKey, header: dict[str, Any], claims: dict[str, Any], *, hash_name: str = "sha256") -> str:
    """Signed with RSASSA-PKCS1-v1_5 exactly as the header says, whatever else it says."""
    data = signing_input(header, claims)
    algorithm = {"sha256": hashes.SHA256(), "sha512": hashes.SHA512()}[hash_name]
    signature = key.private_key.sign(data, padding.PKCS1v15(), algorithm)  # type: ignore[union-attr]
    return f"{data.decode()}.{b64url(signature)}"


def hs256(secret: bytes, header: dict[str, Any], claims: dict[str, Any]) -> str:
    data = signing_input(header, claims)
    return f"{data.decode()}.{b64url(hmac.new(secret, data, hashlib.sha256).digest())}"


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{signing_input(header, claims).decode()}."


def private_key(keys: KeySet) -> RSAKey:
    key = keys.keys[0]
    assert isinstance(key, RSAKey)
    return key


def claims_for(
    *,
    issuer: str,
    client_id: str,
    scope: str,
    audience: str = "interchange",
    partner_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The claims the gateway would put in, valid now."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": client_id,
        "client_id": client_id,
        "iat": now,
        "exp": now + 900,
        "jti": uuid.uuid4().hex,
        "scope": scope,
        "kind": "partner" if partner_id else "internal",
        "tier": "standard",
    }
    if partner_id:
        claims |= {"partner_id": partner_id, "channel": "marketplace"}
    claims.update(extra)
    return claims
