"""Client-credentials token issuance (RFC 6749 4.4) with RFC 9068 JWT access tokens, on authlib.

authlib's ``AuthorizationServer`` is synchronous, so everything asynchronous happens first: the
endpoint reads the form, then ``issue_token`` fetches the clients named in the request from the
database, and only then hands a ``TokenRequest`` that carries them to authlib.

One answer for every failed client authentication: an unknown client id, a wrong secret and a
disabled client all get the same ``401 invalid_client``, so the endpoint cannot be used to find
out which client ids exist.

Failed client authentications are counted per client id and per remote address
(``TokenFailureLimiter``, tokenlimit.py); past either limit a token request is answered 429
before its secret is checked or the registry read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import structlog
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, grants
from authlib.oauth2.rfc6749.authenticate_client import ClientAuthentication
from authlib.oauth2.rfc6749.errors import (
    InsecureTransportError,
    InvalidClientError,
    InvalidRequestError,
    OAuth2Error,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc.jwk import KeySet
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from contracts import scopes
from gateway.bodies import media_type_of, read_capped, too_large
from gateway.clients import StoredClient, find_clients, hash_secret, secret_matches
from gateway.keys import ALGORITHM, KeyStore
from gateway.settings import GatewaySettings
from gateway.tokenlimit import TokenFailureLimiter

GRANT_TYPES = ["client_credentials"]
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
TOKEN_PATH = "/oauth2/token"  # noqa: S105 (a path, not a password)
JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"

log = structlog.get_logger("gateway.oauth")

# Compared against when the client is unknown, so an unknown id costs the same work as a wrong secret.
_NO_SUCH_SECRET = hash_secret("no client has this secret")


class RegisteredClient(ClientMixin):
    """A client from the registry, as authlib sees it."""

    def __init__(self, stored: StoredClient) -> None:
        self.stored = stored

    def get_client_id(self) -> str:
        return self.stored.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        matches = self.stored.secret_matches(client_secret)
        return matches and self.stored.enabled  # a disabled client fails exactly like a wrong secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """No ``scope`` asked for: every scope of the client. Otherwise a subset of the client's
        scopes; ``None`` (authlib answers ``invalid_scope``) when any is not the client's."""
        if not scope:
            return " ".join(self.stored.scopes)
        wanted = list(dict.fromkeys(scope.split()))
        if not wanted or not set(wanted) <= set(self.stored.scopes):
            return None
        return " ".join(wanted)


class _UnknownClient(ClientMixin):
    """Stands in for a client id that is not registered: authentication fails the same way as a
    wrong secret (authlib would otherwise say "The client does not exist on this server")."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id

    def get_client_id(self) -> str:
        return self.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        secret_matches(client_secret, _NO_SUCH_SECRET)
        return False


class TokenRequest(OAuth2Request):
    """A token request whose form is read and whose clients are fetched, ready for authlib."""

    def __init__(self, request: Request, form: dict[str, str], clients: Mapping[str, StoredClient]) -> None:
        super().__init__(request.method, str(request.url), headers=request.headers)
        self.payload = BasicOAuth2Payload(form)
        self._form = form
        self._args = dict(request.query_params)
        self._clients = clients

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form

    def find_client(self, client_id: str) -> ClientMixin:
        stored = self._clients.get(client_id)
        return RegisteredClient(stored) if stored is not None else _UnknownClient(client_id)


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS  # authlib's default is client_secret_basic only


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """RFC 9068 access tokens: iss, aud, exp, iat, jti, client_id, sub, scope (authlib), plus
    ``kind`` (partner, service or internal: what the gateway routes process APIs by), ``tier``
    (the rate tier) and, for partners, ``partner_id`` and ``channel``."""

    def __init__(self, *, issuer: str, audience: str, keys: Callable[[], KeySet], lifetime: int) -> None:
        # Without expires_generator authlib gives client-credentials tokens 10 days.
        super().__init__(issuer=issuer, alg=ALGORITHM, expires_generator=lambda client, grant_type: lifetime)
        self._audience = audience
        self._keys = keys

    def get_jwks(self) -> KeySet:
        return self._keys()  # the key signing now: it changes when the keys rotate

    def get_audiences(self, client: Any, user: Any, scope: str) -> str:
        return self._audience

    def get_extra_claims(self, client: RegisteredClient, grant_type: str, user: Any, scope: str) -> dict[str, Any]:
        stored = client.stored
        claims: dict[str, Any] = {"kind": stored.kind, "tier": stored.tier}
        if stored.partner_id:
            claims["partner_id"] = stored.partner_id
            claims["channel"] = stored.channel
        return claims


class GatewayAuthorizationServer(AuthorizationServer):
    def query_client(self, client_id: str) -> Any:
        raise NotImplementedError("clients are fetched before authlib runs; see TokenRequest.find_client")

    def authenticate_client(self, request: TokenRequest, methods: list[str], endpoint: str = "token") -> Any:
        return ClientAuthentication(request.find_client)(request, methods, endpoint)

    def save_token(self, token: dict[str, Any], request: TokenRequest) -> None:
        pass  # self-contained JWTs: nothing to keep

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def create_oauth2_request(self, request: TokenRequest) -> TokenRequest:
        return request  # already built, with its form and clients

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        return JSONResponse(body, status_code=status, headers=dict(headers))

    def handle_error_response(self, request: Any, error: OAuth2Error) -> Response:
        if isinstance(error, InvalidClientError):
            # The same words whatever went wrong: no hint whether the client id exists.
            error = InvalidClientError(status_code=401, description="Client authentication failed.")
        return super().handle_error_response(request, error)


def build_authorization_server(settings: GatewaySettings, keys: KeyStore) -> GatewayAuthorizationServer:
    server = GatewayAuthorizationServer()
    server.register_grant(ClientCredentialsGrant)
    generator = AccessTokenGenerator(
        issuer=settings.issuer,
        audience=settings.audience,
        keys=lambda: keys.ring.signing,
        lifetime=settings.token_lifetime,
    )
    server.register_token_generator("default", generator)
    return server


FORM = "application/x-www-form-urlencoded"
#: Parameters in a token request at most (RFC 6749 4.4.2 needs four).
MAX_FORM_FIELDS = 32


class TokenFormError(Exception):
    """A token request whose form cannot be read: answered 400 ``invalid_request``."""


async def read_token_form(request: Request, *, max_bytes: int) -> dict[str, str]:
    """The token request's form (RFC 6749 4.4.2: ``application/x-www-form-urlencoded``; any other
    body reads as no parameters). Refuses a body larger than ``max_bytes`` with 413 at once when
    its Content-Length says so, else as soon as the bytes read pass it (a chunked body), and a
    parameter sent twice (RFC 6749 3.2) with ``TokenFormError``."""
    length = request.headers.get("content-length", "").strip()
    if length.isdigit() and int(length) > max_bytes:
        raise too_large(max_bytes)
    body = await read_capped(request.receive, max_bytes, length=int(length) if length.isdigit() else None)
    if media_type_of(request.headers.get("content-type", "").encode("latin-1")) != FORM:
        return {}
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise TokenFormError("The form must be UTF-8 and carry at most 32 parameters.") from exc
    form = dict(pairs)
    if len(form) != len(pairs):
        repeated = sorted({name for name, _ in pairs if sum(1 for n, _ in pairs if n == name) > 1})
        raise TokenFormError(f"Send each parameter once: {', '.join(repeated)} appears more than once.")
    return form


def client_auth_conflict(basic_id: str | None, form: Mapping[str, str]) -> str | None:
    """Why the request uses two client authentication methods (RFC 6749 2.3: a client MUST NOT
    use more than one), or ``None``: HTTP Basic plus ``client_secret`` in the form, or plus a
    ``client_id`` in the form that is not the Basic one."""
    if basic_id is None:
        return None
    if "client_secret" in form or form.get("client_id", basic_id) != basic_id:
        return (
            "Use one client authentication method: HTTP Basic (client_secret_basic) or client_id and "
            "client_secret in the form (client_secret_post), not both."
        )
    return None


async def issue_token(
    *,
    session: AsyncSession,
    server: GatewayAuthorizationServer,
    request: Request,
    form: dict[str, str],
    limiter: TokenFailureLimiter | None = None,
) -> Response:
    """Answer one token request: 200 with the token, or an RFC 6749 error. Two client
    authentication methods at once are 400 ``invalid_request``, before anything else. With
    ``limiter``: a client id or address past its limit of failed authentications gets
    ``TooManyRequests`` (429) before its secret is checked, and a failed authentication (401
    ``invalid_client``) is counted."""
    basic_id, _ = extract_basic_authorization(request.headers)
    conflict = client_auth_conflict(basic_id, form)
    if conflict is not None:
        log.info("token_refused", client_id=basic_id, status=400, error="invalid_request")
        return server.handle_error_response(None, InvalidRequestError(description=conflict))
    claimed = basic_id or form.get("client_id")
    address = request.client.host if request.client else None
    if limiter is not None:
        await limiter.check(client_id=claimed, address=address)
    clients = await find_clients(session, [i for i in (basic_id, form.get("client_id")) if i])
    try:
        oauth_request = TokenRequest(request, form, clients)
    except InsecureTransportError as error:
        # authlib refuses plain http except on loopback; behind a TLS proxy list it in
        # trusted_proxies so its X-Forwarded-Proto makes the request URL https.
        return server.handle_error_response(None, error)
    response: Response = server.create_token_response(oauth_request)
    if response.status_code == 401 and limiter is not None:  # invalid_client: the only 401 here
        await limiter.failed(client_id=claimed, address=address)
    if response.status_code == 200:
        log.info("token_issued", client_id=claimed, scope=form.get("scope"))
    else:
        log.info("token_refused", client_id=claimed, status=response.status_code)
    return response


def authorization_server_metadata(settings: GatewaySettings) -> dict[str, Any]:
    """RFC 8414."""
    base = settings.issuer.rstrip("/")
    return {
        "issuer": settings.issuer,
        "token_endpoint": base + TOKEN_PATH,
        "jwks_uri": base + JWKS_PATH,
        "grant_types_supported": GRANT_TYPES,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "scopes_supported": list(scopes.ALL),
        "response_types_supported": [],  # no authorization endpoint
    }


__all__ = [
    "AUTH_METHODS",
    "GRANT_TYPES",
    "JWKS_PATH",
    "METADATA_PATH",
    "TOKEN_PATH",
    "GatewayAuthorizationServer",
    "TokenFormError",
    "authorization_server_metadata",
    "build_authorization_server",
    "issue_token",
    "read_token_form",
]
