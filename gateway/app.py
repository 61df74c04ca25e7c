"""Build the gateway: ``uvicorn --factory gateway.app:create_app`` (port 8000)."""

from __future__ import annotations

from http.cookiejar import DefaultCookiePolicy

import httpx
from fastapi import FastAPI
from starlette.routing import Route

from gateway.keys import load_key_ring
from gateway.models import Base
from gateway.oauth import build_authorization_server
from gateway.proxy import GatewayProxy, authenticate
from gateway.ratelimit import RateLimiter, rate_limit
from gateway.routes import router
from gateway.routing import default_contracts_dir, load_routing_table
from gateway.settings import GatewaySettings
from service_kit.app import create_service_app
from service_kit.auth import TokenVerifier

#: Everything under /<api>/<vN>/ goes to the proxy; the kit's and the OAuth routes come first.
PROXY_PATH = "/{api}/{version}/{rest:path}"


def create_app(
    settings: GatewaySettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    """``verifier`` replaces the check of the gateway's own tokens on proxied requests (tests);
    by default they are verified against the gateway's key set, without fetching its JWKS."""
    settings = settings or GatewaySettings.load("gateway")
    proxy = GatewayProxy()

    async def start(app: FastAPI) -> None:
        ring = await load_key_ring(app.state.db)
        app.state.key_ring = ring
        app.state.oauth_server = build_authorization_server(settings, ring)
        app.state.verifier = verifier or TokenVerifier(
            issuer=settings.issuer, audience=settings.audience, keys=ring.public
        )
        contracts_dir = settings.contracts_dir or default_contracts_dir()
        routes = load_routing_table(contracts_dir, settings)
        app.state.routing_table = routes
        limiter = RateLimiter.from_settings(settings, contracts_dir=contracts_dir, registry=app.state.registry)
        app.state.rate_limiter = limiter
        client: httpx.AsyncClient = app.state.http
        # The upstream client is shared by every caller: it must never keep one partner's cookies.
        client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        proxy.configure(routes=routes, http=client, steps=[authenticate(app.state.verifier), rate_limit(limiter)])

    async def stop(app: FastAPI) -> None:
        limiter: RateLimiter | None = getattr(app.state, "rate_limiter", None)
        if limiter is not None:
            await limiter.aclose()

    app = create_service_app(
        settings,
        title="Interchange gateway",
        description="OAuth 2.0 client-credentials tokens (RFC 9068 JWTs) and the way in to the experience APIs.",
        public_routers=[router],
        metadata=[Base.metadata],
        transport=transport,
        verifier=verifier,
        on_startup=[start],
        on_shutdown=[stop],
    )
    app.router.routes.append(Route(PROXY_PATH, proxy, include_in_schema=False))
    app.state.proxy = proxy
    return app
