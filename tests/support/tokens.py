"""Tokens for tests that run one service on its own: a test signing key, a verifier that trusts
it, and helpers that mint RFC 9068 access tokens with the claims the gateway would put in.

Tokens expire, so they are minted when a test runs, never when its module is imported: a run
that takes longer than a token's lifetime (a slow or busy machine) would otherwise fail with 401
on every test whose token was minted at collection. ``mint_token`` refuses to run while pytest
collects (``tests/conftest.py`` sets ``refuse_minting``), and module-level headers use
``Bearer``, which mints a fresh token each time a request reads them.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from service_kit.auth import TokenVerifier

ISSUER = "http://issuer.test"
AUDIENCE = "interchange"

#: Seconds a minted token is valid unless the caller says otherwise. ``tests/support/slow_run.py``
#: shortens it to prove that no test depends on a token minted long before it runs.
DEFAULT_LIFETIME = 900

#: Set while pytest collects: why minting a token now is a mistake (None: minting is allowed).
_refusal: str | None = None


class MintedTooEarly(RuntimeError):
    """A token was minted while pytest was collecting: it would expire before its test runs."""


def refuse_minting(reason: str | None) -> None:
    """Refuse ``mint_token`` with ``reason`` from now on; ``None`` allows it again."""
    global _refusal
    _refusal = reason


@functools.cache
def _keys() -> KeySet:
    # Generated on first use, not at import: collecting the tests should cost no key generation.
    return KeySet([RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})])


def static_verifier() -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=_keys())


def mint_token(
    *scopes: str,
    client_id: str = "test-client",
    partner_id: str | None = None,
    channel: str | None = None,
    tier: str = "standard",
    lifetime: int | None = None,
    **extra: Any,
) -> str:
    if _refusal is not None:
        raise MintedTooEarly(_refusal)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": client_id,
        "client_id": client_id,
        "iat": now,
        "exp": now + (DEFAULT_LIFETIME if lifetime is None else lifetime),
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
    return jwt.encode(header, claims, _keys())


def bearer(*scopes: str, **kwargs: Any) -> dict[str, str]:
    """An Authorization header with a token minted now: call it inside a test or a fixture."""
    return {"Authorization": f"Bearer {mint_token(*scopes, **kwargs)}"}


class Bearer(Mapping[str, str]):
    """Request headers whose ``Authorization`` carries a token minted each time it is read (when
    httpx builds the request), so a module-level constant such as ``ACME = Bearer(...)``
    never holds a token that can expire. ``|`` adds headers and stays lazy."""

    def __init__(self, *scopes: str, headers: Mapping[str, str] | None = None, **claims: Any) -> None:
        self._scopes = scopes
        self._claims = claims
        self._headers = {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}

    def __getitem__(self, name: str) -> str:
        if name == "Authorization":
            return f"Bearer {mint_token(*self._scopes, **self._claims)}"
        return self._headers[name]

    def __iter__(self) -> Iterator[str]:
        yield "Authorization"
        yield from self._headers

    def __len__(self) -> int:
        return 1 + len(self._headers)

    def __or__(self, other: Mapping[str, str]) -> Bearer:
        return Bearer(*self._scopes, headers={**self._headers, **other}, **self._claims)

    def __ror__(self, other: Mapping[str, str]) -> Bearer:
        return Bearer(*self._scopes, headers={**other, **self._headers}, **self._claims)

    def __repr__(self) -> str:
        return f"Bearer(scopes={self._scopes!r}, claims={self._claims!r}, headers={self._headers!r})"
