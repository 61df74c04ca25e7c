"""The app factory every service is built from: the "service defaults" in one call.

``create_service_app`` wires settings, structured logs, correlation ids, problem+json errors,
health and metrics endpoints, the service's database, one pooled HTTP client with this service's
own token, JWT verification, and the service's background workers (started after start-up,
stopped before shutdown between two units of work: ``service_kit.workers``). Every router passed
in is authenticated by default.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, FastAPI, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import MetaData
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from service_kit.auth import TokenVerifier, authenticate
from service_kit.correlation import CorrelationMiddleware
from service_kit.db import Database
from service_kit.http import ServiceToken, Upstream, build_http_client
from service_kit.logging import configure_logging
from service_kit.metrics import BusinessMetrics
from service_kit.migrations import MigrationHistory, upgrade_database
from service_kit.openapi import install_openapi
from service_kit.precomputed import PrecomputedRoutes
from service_kit.problems import install_problem_handlers
from service_kit.revocation import RevokedClients, client_revocations
from service_kit.settings import ServiceSettings
from service_kit.workers import AppWorker, start_workers, stop_workers

Hook = Callable[[FastAPI], Awaitable[None]]
Worker = AppWorker  # one name for the ``workers=[...]`` hook type, defined by the runtime
log = structlog.get_logger("service_kit.app")


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter] = (),
    public_routers: Sequence[APIRouter] = (),
    metadata: Sequence[MetaData] = (),
    migrations: MigrationHistory | None = None,
    version: str = "1.0.0",
    transport: httpx.AsyncBaseTransport | None = None,
    on_startup: Sequence[Hook] = (),
    workers: Sequence[Worker] = (),
    on_shutdown: Sequence[Hook] = (),
    verifier: TokenVerifier | None = None,
    configure_logs: bool = True,
    app_class: type[FastAPI] = FastAPI,
) -> FastAPI:
    """``routers`` need a valid token on every route (scopes per route via ``require``);
    ``public_routers`` opt out explicitly (token endpoint, JWKS). ``app_class``: a FastAPI subclass
    (the gateway's serves its proxied calls ahead of the framework)."""
    if configure_logs:
        configure_logging(service=settings.service, level=settings.log_level, json_logs=settings.log_json)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url, metadata=metadata, pool_size=settings.db_pool_size)
        if migrations is not None:  # every service: its alembic history (service_kit.migrations)
            await upgrade_database(db=db, history=migrations)
        else:  # an app a test builds without a history: its tables from ``metadata``
            await db.create_schema()
        http = build_http_client(settings, transport)
        app.state.db = db
        app.state.http = http
        app.state.service_token = ServiceToken(
            http,
            token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
        )
        app.state.upstreams = {}  # name -> Upstream, filled by ``upstream`` on first use
        app.state.verifier = verifier or TokenVerifier(
            issuer=settings.issuer, audience=settings.audience, jwks_url=settings.jwks_url, http=http
        )
        app.state.revoked_clients = await RevokedClients.load(db)  # service_kit.revocation
        tasks: list[asyncio.Task[None]] = []
        try:
            for hook in on_startup:
                await hook(app)
            tasks = start_workers(app, [*workers, client_revocations()])
            app.state.ready = True
            log.info("service_started", port=settings.port)
            yield
        finally:
            app.state.ready = False
            # Each worker is stopped between two units of work, never inside a transaction
            # (service_kit.workers says why); together, not one after the other.
            await stop_workers(app, tasks, grace=settings.shutdown_grace_seconds)
            for hook in on_shutdown:
                await hook(app)
            await http.aclose()
            await db.dispose()
            log.info("service_stopped")

    # FastAPI's native OpenTelemetry looks up the global providers on every request (three
    # environment reads and lookups, ~10% of a small request); the kit's own correlation ids,
    # traceparent and Prometheus metrics are what the suite observes, so it is off.
    telemetry: Any = {"tracing": False, "metrics": False, "logs": False}
    app = app_class(title=title, description=description, version=version, lifespan=lifespan, telemetry=telemetry)
    app.state.settings = settings
    app.state.ready = False
    registry = CollectorRegistry()
    app.state.registry = registry
    app.state.metrics = business = BusinessMetrics(registry)  # service_kit.metrics
    business.watch_circuits(lambda: getattr(app.state, "http", None))
    requests = Counter(
        "interchange_http_requests", "HTTP requests served", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "interchange_http_request_duration_seconds",
        "Time to serve an HTTP request",
        ["method", "route"],
        registry=registry,
    )

    # One labelled child per (method, route, status), looked up once: ``labels()`` costs more than
    # the increment it leads to.
    counters: dict[tuple[str, str, int], Any] = {}
    timers: dict[tuple[str, str], Any] = {}

    def observe(method: str, route: str, status: int, seconds: float) -> None:
        counter = counters.get((method, route, status))
        if counter is None:
            counter = counters[(method, route, status)] = requests.labels(method, route, str(status))
        timer = timers.get((method, route))
        if timer is None:
            timer = timers[(method, route)] = latency.labels(method, route)
        counter.inc()
        timer.observe(seconds)

    app.state.observe_request = observe  # for a hot path that bypasses the middleware (the gateway's proxy)
    # Inside the correlation middleware: the ``@precomputed`` routes keep their correlation ids,
    # metrics and access log, and skip only FastAPI's per-request work (service_kit.precomputed).
    app.add_middleware(PrecomputedRoutes)
    app.add_middleware(CorrelationMiddleware, observe=observe, access_log=settings.access_log)
    install_problem_handlers(app)
    install_openapi(app)

    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": settings.service}

    @app.get("/health/ready", include_in_schema=False)
    async def ready(request: Request) -> Response:
        db_ok = bool(getattr(request.app.state, "db", None)) and await request.app.state.db.ping()
        ok = bool(request.app.state.ready) and db_ok
        body = {"status": "ok" if ok else "unavailable", "service": settings.service, "database": db_ok}
        return JSONResponse(body, status_code=200 if ok else 503)

    async def metrics(_: Request) -> Response:
        await business.refresh()  # gauges read from the database at scrape time
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_route("/metrics", metrics, include_in_schema=False)

    for router in public_routers:
        app.include_router(router)
    for router in routers:
        _include_authenticated(app, router)
    return app


def _include_authenticated(app: FastAPI, router: APIRouter) -> None:
    """Every route of ``router`` needs a valid token: the router's default ``authenticate`` is added
    to each route that does not already authenticate (``require(scope)``, ``Authenticated``).

    FastAPI solves every dependency of a route on every request, and a second ``authenticate``
    where the route has its own is one more to solve (~60 Python calls) for a check already made;
    the contract is the same (FastAPI merges the scheme's scopes). The routes are included in
    their order, in consecutive runs with and without the default, so path matching is unchanged."""
    runs: list[tuple[bool, list[BaseRoute]]] = []
    for route in router.routes:
        needs_default = not (isinstance(route, APIRoute) and _authenticates(route.dependant))
        if runs and runs[-1][0] == needs_default:
            runs[-1][1].append(route)
        else:
            runs.append((needs_default, [route]))
    for needs_default, run in runs:
        part = APIRouter(routes=run)
        app.include_router(part, dependencies=[Security(authenticate)] if needs_default else None)


def _authenticates(dependant: Dependant) -> bool:
    return any(sub.call is authenticate or _authenticates(sub) for sub in dependant.dependencies)


def upstream(app: FastAPI, name: str) -> Upstream:
    """The client for one service of the tier below, named as in the settings (``erp``, ``wms``...):
    built on first use and kept for the app's life (one per upstream, not one per request)."""
    upstreams: dict[str, Upstream] = app.state.upstreams
    client = upstreams.get(name)
    if client is None:
        settings: ServiceSettings = app.state.settings
        base_url: Any = getattr(settings, f"{name}_url")
        client = upstreams[name] = Upstream(app.state.http, app.state.service_token, base_url=base_url, name=name)
    return client


__all__ = ["create_service_app", "upstream"]
