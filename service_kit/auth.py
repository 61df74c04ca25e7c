"""JWT access-token verification (RFC 9068) and scopes, as FastAPI dependencies.

Every service verifies the gateway's tokens itself against the gateway's JWKS (cached; refetched
when an unknown ``kid`` appears, at most once per 30 s, whether the last fetch worked or not: never
per request). Verified tokens are cached until they expire, so a repeat caller costs a dictionary
lookup instead of an RSA verification.

What is refused (401), before any signature is checked where the header alone tells: a token that
is not a compact JWS; ``alg`` outside ``ALLOWED_ALGORITHMS`` (so ``none``, and HS256 "signed" with
the public key, never reach a key); ``typ`` other than ``at+jwt``; any ``crit`` header (we
understand no extension); a ``kid`` not in the key set. Then: a bad signature; missing ``iss``,
``aud``, ``exp``, ``iat``, ``sub``, ``client_id`` or ``jti``; ``iss`` other than ours and ``aud``
not naming us (exact string comparison, joserfc); ``exp`` past, ``nbf`` or ``iat`` in the future,
beyond ``leeway`` seconds of clock skew.

    Principal                  who is calling: client id, scopes, partner and channel
    authenticate               the dependency every API route gets by default (verifies once per request)
    require("orders:write")    the dependency that also checks scopes (shown in the contract)
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from service_kit.errors import Forbidden, Unauthorized, UpstreamUnavailable
from service_kit.http import PARTNER_HEADER

ALLOWED_ALGORITHMS = ("RS256",)
ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}
UNDERSTOOD_CRIT: frozenset[str] = frozenset()
JWKS_REFETCH_INTERVAL = 30.0
#: Until the first fetch has worked, it is tried again this soon: a service started a moment before
#: the gateway answers (a loaded machine) must not refuse every call for JWKS_REFETCH_INTERVAL.
JWKS_FIRST_FETCH_RETRY = 2.0


class SigningKeysUnavailable(UpstreamUnavailable):
    """The gateway's signing keys could not be fetched, so no token can be checked yet: a 503 with
    Retry-After (the request was not processed; the caller may send it again)."""

    status = 503

    def __init__(self, *, retry_after: float) -> None:
        super().__init__(
            "The signing keys could not be fetched.",
            headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
        )


_TOKEN_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Principal:
    client_id: str
    scopes: frozenset[str]
    partner_id: str | None = None
    channel: str | None = None
    tier: str | None = None
    #: ``partner``, ``service`` or ``internal``: the kind of client the token was issued to.
    kind: str | None = None
    on_behalf_of: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def acting_partner(self) -> str | None:
        """The partner this call is for: a partner's own token always acts as that partner; a
        service's token may act for the partner it names in X-Interchange-Partner."""
        return self.partner_id or self.on_behalf_of


class TokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        keys: KeySet | None = None,
        leeway: int = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``keys`` alone: verify against these (the gateway's own). ``jwks_url`` and ``http``:
        fetch the set on first use and again, at most once per ``JWKS_REFETCH_INTERVAL`` seconds of
        ``clock``, when a token names a ``kid`` we do not have."""
        self.issuer = issuer
        self.audience = audience
        self._jwks_url = jwks_url
        self._http = http
        self._keys = keys
        self._clock = clock
        self._fetched_at = float("-inf")
        self._fetch_lock = asyncio.Lock()
        self._cache: OrderedDict[str, tuple[dict[str, Any], float]] = OrderedDict()
        self._claims = jwt.JWTClaimsRegistry(
            now=None,
            leeway=leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            client_id={"essential": True},
            jti={"essential": True},
        )

    def use_keys(self, keys: KeySet) -> None:
        """Verify against this key set from now on (the gateway, after its keys rotate). Tokens
        already verified stay cached until they expire."""
        self._keys = keys

    async def verify(self, token: str) -> dict[str, Any]:
        cached = self._cache.get(token)
        if cached is not None:
            claims, exp = cached
            if time.time() < exp:
                return claims
            self._cache.pop(token, None)
        claims = await self._verify_uncached(token)
        self._cache[token] = (claims, float(claims["exp"]))
        if len(self._cache) > _TOKEN_CACHE_SIZE:
            self._cache.popitem(last=False)
        return claims

    async def _verify_uncached(self, token: str) -> dict[str, Any]:
        try:
            header = jws.extract_compact(token.encode("ascii")).protected
        except (JoseError, ValueError, UnicodeError) as exc:
            raise Unauthorized("The access token is not a well-formed JWT.") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise Unauthorized("The access token is signed with an algorithm we do not accept.")
        if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
            raise Unauthorized("The token is not an access token (typ must be at+jwt).")
        crit = header.get("crit")
        if crit is not None and (not isinstance(crit, list) or not crit or not set(map(str, crit)) <= UNDERSTOOD_CRIT):
            raise Unauthorized("The access token has critical header parameters we do not understand.")
        keys = await self._key_set(str(header.get("kid", "")))
        try:
            decoded = jwt.decode(token, keys, algorithms=list(ALLOWED_ALGORITHMS))
            self._claims.validate(decoded.claims)
        except JoseError as exc:
            raise Unauthorized(f"The access token was rejected: {exc.description or exc.error}.") from exc
        return dict(decoded.claims)

    async def _key_set(self, kid: str) -> KeySet:
        if self._keys is not None and _has_kid(self._keys, kid):
            return self._keys
        if self._jwks_url is None or self._http is None:
            if self._keys is None:
                raise Unauthorized("No signing keys are configured.")
            raise Unauthorized("The access token is signed with a key we do not know.")
        async with self._fetch_lock:
            if self._keys is not None and _has_kid(self._keys, kid):
                return self._keys
            interval = JWKS_REFETCH_INTERVAL if self._keys is not None else JWKS_FIRST_FETCH_RETRY
            wait = interval - (self._clock() - self._fetched_at)
            if wait > 0:
                # Fetched (or tried to) moments ago: an unknown kid must not make every request
                # a JWKS fetch, and neither must a key server that is down.
                if self._keys is None:
                    raise SigningKeysUnavailable(retry_after=wait)
                raise Unauthorized("The access token is signed with a key we do not know.")
            self._fetched_at = self._clock()
            try:
                resp = await self._http.get(self._jwks_url)
                resp.raise_for_status()
                self._keys = KeySet.import_key_set(resp.json())
            except (httpx.HTTPError, ValueError, JoseError) as exc:
                raise SigningKeysUnavailable(retry_after=JWKS_FIRST_FETCH_RETRY) from exc
        if not _has_kid(self._keys, kid):
            raise Unauthorized("The access token is signed with a key we do not know.")
        return self._keys


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(k.kid == kid for k in keys.keys)


def _bearer_token(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class _Authenticate(OAuth2):
    """The contract's OAuth2 client-credentials scheme and the check behind it, as one dependency.

    FastAPI solves every dependency of a route on every request, and a scheme object wrapped in a
    function (the usual ``Depends(oauth2_scheme)`` inside ``authenticate``) is two of them. Being
    the scheme itself, this one is a single node while the contract still shows ``oauth2`` with the
    route's scopes. The router's default ``authenticate`` and a route's ``require(scope)`` both run
    it; the token is verified (and the client checked against the revocation list) by the first,
    and the second reuses that principal, kept in the request's scope. Hand-written rather than
    FastAPI's dependency cache: the cache keys a dependency by its scopes, so the two would each
    verify."""

    async def __call__(self, request: Request, security_scopes: SecurityScopes) -> Principal:  # type: ignore[override]
        principal: Principal | None = request.scope.get(_PRINCIPAL_KEY)
        if principal is None:
            principal = request.scope[_PRINCIPAL_KEY] = await _verified_principal(request, _bearer_token(request))
        if security_scopes.scopes:
            missing = [s for s in security_scopes.scopes if s not in principal.scopes]
            if missing:
                raise Forbidden(
                    f"The access token lacks the scope this operation needs: {' '.join(missing)}.",
                    headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{" ".join(missing)}"'},
                )
        return principal


#: Where the verified caller is kept for the rest of the request (an ASGI scope key, namespaced).
_PRINCIPAL_KEY = "interchange.principal"

#: The caller, checked for the scopes of this use: the dependency every API route gets by default.
authenticate = _Authenticate(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(tokenUrl="/oauth2/token", scopes={})),
    scheme_name="oauth2",
    description="OAuth 2.0 client credentials: POST /oauth2/token at the gateway.",
    auto_error=False,
)


async def _verified_principal(request: Request, token: str | None) -> Principal:
    """The caller, from a verified token whose client is not revoked."""
    if token is None:
        raise Unauthorized(
            "Send an access token: Authorization: Bearer <token> (get one at POST /oauth2/token).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    state = request.app.state
    verifier: TokenVerifier = state.verifier
    claims = await verifier.verify(token)
    revoked = getattr(state, "revoked_clients", None)  # service_kit.revocation
    if revoked is not None and revoked.refuses(claims):
        raise Unauthorized(
            "This client's access was revoked: its tokens are no longer accepted. "
            "Ask the operator to enable the client again, then get a new token.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token", error_description="client revoked"'},
        )
    return Principal(
        client_id=str(claims["client_id"]),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        partner_id=claims.get("partner_id") or None,
        channel=claims.get("channel") or None,
        tier=claims.get("tier") or None,
        kind=claims.get("kind") or None,
        on_behalf_of=None if claims.get("partner_id") else request.headers.get(PARTNER_HEADER) or None,
        claims=claims,
    )


def require(*scopes: str) -> Any:
    """``Annotated[Principal, require("orders:write")]``: authenticate and check the scopes."""
    return Security(authenticate, scopes=list(scopes))


Authenticated = Annotated[Principal, Security(authenticate)]

__all__ = [
    "Authenticated",
    "Principal",
    "TokenVerifier",
    "authenticate",
    "require",
]
