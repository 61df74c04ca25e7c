"""Build the gateway: ``python -m gateway.serve --factory gateway.app:create_app`` (granian; port 8000).

At start-up: the signing keys (keys.py; none with an external issuer), the disabled clients, the
routing table with every operation's policy and every version's lifecycle, the rate limiter, the
audit log, the token endpoint's limit on failed authentications, and the proxy's steps. Three
workers run beside it: ``refresh_state`` re-reads the keys and the disabled clients every
``state_refresh_interval`` seconds, the audit writer, and the audit retention (deletes records
older than ``audit_retention_days`` at start-up and every ``audit_prune_interval`` seconds).
"""

from __future__ import annotations

import gc
from datetime import datetime
from http.cookiejar import DefaultCookiePolicy

import httpx
import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.admin_clients import router as admin_clients_router
from gateway.audit import AuditLog, AuditRetention
from gateway.audit_routes import router as audit_router
from gateway.clients import DisabledClients
from gateway.counters import RedisCounters, redis_storage
from gateway.forward import Forwarder, HttpxForwarder, ReqwestForwarder
from gateway.keys import KeySchedule, KeyStore
from gateway.metrics_access import guard_metrics
from gateway.migrations import HISTORY
from gateway.models import Base
from gateway.oauth import JWKS_PATH, build_authorization_server
from gateway.partner_health import router as partner_health_router
from gateway.policy import check_request_body, refuse_after_sunset, require_scopes
from gateway.portal import router as portal_router
from gateway.proxy import GatewayProxy, authenticate, is_proxied
from gateway.ratelimit import RateLimiter, rate_limit
from gateway.routes import router
from gateway.routing import RoutingTable, default_contracts_dir, load_routing_table
from gateway.settings import GatewaySettings
from gateway.tokenlimit import TokenFailureLimiter
from gateway.versions import deprecation_dates, version_headers
from service_kit.app import create_service_app
from service_kit.auth import TokenVerifier
from service_kit.db import Database
from service_kit.revocation import control_relay
from service_kit.secrets import SecretBox
from service_kit.workers import Wakeup, run_worker, stop_event

log = structlog.get_logger("gateway.app")


class GatewayApp(FastAPI):
    """The gateway's app: ``/<api>/<version>/...`` calls go straight to the proxy, ahead of
    FastAPI's own per-request work (telemetry checks, body limits, middleware, routing); the rest
    (OAuth, JWKS, health, metrics, docs) is FastAPI as usual.

    With ``trusted_proxies`` every request first goes through uvicorn's ``ProxyHeadersMiddleware``
    (``forwarded``): from those addresses only, X-Forwarded-For and X-Forwarded-Proto become the
    request's client address and scheme. Done here and not by the server's own option, so that it
    is the gateway's setting whatever server runs it, off by default."""

    proxy: GatewayProxy | None = None
    forwarded: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.forwarded is not None:
            await self.forwarded(scope, receive, send)
        else:
            await self.dispatch(scope, receive, send)

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.proxy is not None and is_proxied(scope):
            await self.proxy(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: GatewaySettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    """``verifier`` replaces the check of the gateway's own tokens on proxied requests (tests);
    by default they are verified against the gateway's key set, without fetching its JWKS (with
    ``external_issuer``: against the issuer's JWKS at ``jwks_url``)."""
    settings = settings or GatewaySettings.load("gateway")
    if settings.external_issuer and settings.jwks_url == settings.gateway_url.rstrip("/") + JWKS_PATH:
        raise ValueError("external_issuer: set INTERCHANGE_ISSUER and INTERCHANGE_JWKS_URL to the issuer's")
    proxy = GatewayProxy()

    async def start(app: FastAPI) -> None:
        db: Database = app.state.db
        # One storage (one Redis pool) for the rate limits and the token endpoint's failure limits.
        counters = redis_storage(
            settings.rate_limit_storage,
            timeout=settings.rate_limit_storage_timeout,
            connections=settings.rate_limit_storage_connections,
        )
        app.state.limit_counters = counters
        if not settings.external_issuer:
            schedule = KeySchedule.for_settings(
                publish_delay=settings.signing_key_publish_delay, token_lifetime=settings.token_lifetime
            )
            keys = await KeyStore.open(db, schedule, box=SecretBox.from_settings(settings))
            app.state.keys = keys
            app.state.oauth_server = build_authorization_server(settings, keys)
            app.state.token_limiter = TokenFailureLimiter.from_settings(
                settings, shared=counters, registry=app.state.registry
            )
            app.state.verifier = verifier or TokenVerifier(
                issuer=settings.issuer, audience=settings.audience, keys=keys.ring.public
            )
        # else: the kit's verifier, on the issuer's JWKS (``issuer``, ``jwks_url``), stays.
        app.state.owns_verifier = verifier is None
        disabled = DisabledClients(db)
        await disabled.refresh()
        app.state.disabled_clients = disabled
        contracts_dir = settings.contracts_dir or default_contracts_dir()
        routes = await _with_versions(db, load_routing_table(contracts_dir, settings))
        app.state.routing_table = routes
        limiter = RateLimiter.from_settings(
            settings, contracts_dir=contracts_dir, shared=counters, registry=app.state.registry
        )
        app.state.rate_limiter = limiter
        client: httpx.AsyncClient = app.state.http
        # The kit's client is shared by every caller: it must never keep one partner's cookies.
        client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        forwarder: Forwarder
        if transport is None:  # sockets: pyreqwest (forward.py says why)
            forwarder = ReqwestForwarder(
                connect_timeout=settings.http_connect_timeout,
                read_timeout=settings.http_read_timeout,
                max_connections=settings.http_max_connections,
                retry_after=settings.upstream_retry_after,
            )
        else:  # an injected transport (the in-process suite) speaks httpx
            forwarder = HttpxForwarder(client, retry_after=settings.upstream_retry_after)
        app.state.forwarder = forwarder
        audit = AuditLog(
            db,
            queue_size=settings.audit_queue_size,
            batch_size=settings.audit_batch_size,
            registry=app.state.registry,
            linger_seconds=settings.audit_linger_seconds,
        )
        app.state.audit = audit
        app.state.audit_retention = AuditRetention(
            db,
            retention_days=settings.audit_retention_days,
            interval=settings.audit_prune_interval,
            batch_size=settings.audit_prune_batch_size,
            registry=app.state.registry,
        )
        steps = [
            authenticate(app.state.verifier, disabled),
            require_scopes(),  # before the rate limit: a call refused for its scopes does not count
            rate_limit(limiter),
            refuse_after_sunset(),
            check_request_body(max_bytes=settings.max_body_bytes, max_depth=settings.max_json_depth),
        ]
        proxy.configure(
            routes=routes,
            forwarder=forwarder,
            steps=steps,
            max_body_bytes=settings.max_body_bytes,
            audit=audit,
            observe=app.state.observe_request,
            access_log=settings.proxy_access_log,
        )
        # What start-up built (modules, contracts, schemas, the app) lives as long as the process:
        # out of the collector's full passes, which otherwise walk all of it (~170k objects,
        # ~140 ms of CPU) every few thousand proxied calls (as process_apis/inventory does).
        gc.collect()
        gc.freeze()

    async def refresh_worker(app: FastAPI) -> None:
        started = False

        async def refresh_once() -> int:
            nonlocal started
            if started:  # the first pass comes right after start-up, which has just read the state
                await refresh_state(app)
            started = True
            return 0

        interval = settings.state_refresh_interval
        await run_worker(
            "gateway_state_refresh",
            refresh_once,
            wakeup=Wakeup(),
            stop_event=stop_event(app),
            idle_backoff=(interval, interval),
        )

    async def audit_writer(app: FastAPI) -> None:
        await app.state.audit.run(stop_event=stop_event(app))

    async def audit_retention(app: FastAPI) -> None:
        await app.state.audit_retention.run(stop_event=stop_event(app))

    async def flush_audit(app: FastAPI) -> None:
        # The writer has stopped (or was cancelled; it may not even have started): what it left
        # goes in now, before the database is closed.
        audit: AuditLog | None = getattr(app.state, "audit", None)
        if audit is not None:
            await audit.flush()

    async def stop(app: FastAPI) -> None:
        counters: RedisCounters | None = getattr(app.state, "limit_counters", None)
        if counters is not None:
            await counters.aclose()
        forwarder: Forwarder | None = getattr(app.state, "forwarder", None)
        if forwarder is not None:
            await forwarder.aclose()

    app = create_service_app(
        settings,
        title="Interchange gateway",
        description="OAuth 2.0 client-credentials tokens (RFC 9068 JWTs) and the way in to the experience APIs.",
        public_routers=[portal_router] if settings.external_issuer else [router, portal_router],
        metadata=[Base.metadata],
        migrations=HISTORY,
        transport=transport,
        verifier=verifier,
        on_startup=[start],
        # control_relay: client revocations (clients.py) reach every service on the control bus.
        workers=[refresh_worker, audit_writer, audit_retention, control_relay()],
        on_shutdown=[stop, flush_audit],
        app_class=GatewayApp,
    )
    assert isinstance(app, GatewayApp)
    app.proxy = proxy
    guard_metrics(app)  # /metrics for an internal client's ops token only (gateway.metrics_access)
    app.include_router(partner_health_router)  # the ops console's partner traffic, operators only
    app.include_router(audit_router)  # interchange audit's records, operators only
    app.include_router(admin_clients_router)  # interchange clients/keys: clients and signing keys, operators only
    if settings.trusted_proxies:
        # Imported only here: uvicorn is ~6 MB of memory the gateway does not need on granian.
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        # uvicorn types an ASGI app with its own TypedDicts, Starlette with plain mappings: same protocol.
        app.forwarded = ProxyHeadersMiddleware(app.dispatch, trusted_hosts=settings.trusted_proxies)  # type: ignore[arg-type,assignment]
    # No 307 to "<path>/": a gateway answers a path it does not serve with a 404 problem, not a
    # redirect.
    app.router.redirect_slashes = False
    app.state.proxy = proxy
    return app


async def refresh_state(app: FastAPI, *, now: datetime | None = None) -> None:
    """Re-read the disabled clients and the signing keys (one pass of the refresh worker; ``now``
    for tests). A database that fails leaves the last state in place."""
    try:
        await app.state.disabled_clients.refresh()
        keys: KeyStore | None = getattr(app.state, "keys", None)
        if keys is not None and await keys.refresh(now=now) and app.state.owns_verifier:
            app.state.verifier.use_keys(keys.ring.public)
    except Exception as exc:
        log.warning("gateway_state_refresh_failed", error=repr(exc))


async def _with_versions(db: Database, routes: RoutingTable) -> RoutingTable:
    """The table with each version's lifecycle headers; a deprecation without a date dates from
    when this database first saw it (versions.py)."""
    undated = [(r.api, r.version) for r in routes if r.lifecycle and r.lifecycle.deprecated and not r.lifecycle.since]
    recorded = await deprecation_dates(db, undated)
    return routes.with_versions(
        {
            (r.api, r.version): version_headers(r.lifecycle, deprecated_since=recorded.get((r.api, r.version)))
            for r in routes
            if r.lifecycle is not None
        }
    )
