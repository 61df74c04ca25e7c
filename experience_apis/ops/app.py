"""Build the ops console: ``uvicorn --factory experience_apis.ops.app:create_app``.

People sign in with their ops client (the gateway issues the token, experience_apis.ops.pages);
the console keeps the token in a signed, HttpOnly, SameSite=strict session cookie and calls the
services' admin APIs with it. It owns no data of its own.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
from fastapi import APIRouter, FastAPI
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from experience_apis.ops.migrations import HISTORY
from experience_apis.ops.pages import router as pages_router
from experience_apis.ops.routes import router
from experience_apis.ops.settings import OpsSettings
from service_kit.app import create_service_app
from service_kit.auth import TokenVerifier
from service_kit.settings import ServiceSettings

HERE = Path(__file__).parent
SESSION_COOKIE = "interchange_ops"

home = APIRouter(include_in_schema=False)


@home.get("/")
async def to_console() -> RedirectResponse:
    return RedirectResponse("/console", status_code=307)


def create_app(
    settings: OpsSettings | ServiceSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verifier: TokenVerifier | None = None,
) -> FastAPI:
    settings = settings or OpsSettings.load("ops")
    if not isinstance(settings, OpsSettings):  # plain service settings (the contract exporter): our defaults
        settings = OpsSettings(**settings.model_dump())
    app = create_service_app(
        settings,
        title="Interchange ops console API",
        description="The operations console for the people who run the suite: find an order by any reference "
        "and follow it across the tiers, work the exception queue with audited replays. Its pages are served at "
        "/console (not part of this API); the API below offers its search to scripts.",
        routers=[router],
        # The pages authenticate through the session cookie (pages.signed_in), not a bearer token.
        public_routers=[home, pages_router],
        migrations=HISTORY,
        transport=transport,
        verifier=verifier,
    )
    secret = settings.session_secret.get_secret_value() or secrets.token_urlsafe(32)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age,
        same_site="strict",
        https_only=settings.session_https_only,
    )
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
