"""``/admin/clients`` and ``/admin/keys``: the gateway's OAuth clients and token signing keys, for
operators only (an internal client's ``ops`` token, as ``/metrics`` and ``/admin/audit``; anyone
else gets the 404 problem of a path that does not exist). ``interchange clients ...`` and
``interchange keys ...`` call them, so the CLI never opens the gateway's database.

A new client's secret, and a rotated one, is in the answer once (``Cache-Control: no-store``) and
never stored in clear or logged: the gateway keeps its hash (gateway/clients.py). A rotated key is
used by every gateway replica at its next state refresh (``state_refresh_interval``), as before.

Every path has two segments: a longer one is the proxy's (``/<api>/<vN>/...``, gateway.proxy's
``is_proxied``), so a client's id travels in the body, not the path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.scopes import ALL as KNOWN_SCOPES
from gateway import clients, keys
from gateway.metrics_access import require_operator
from gateway.settings import GatewaySettings
from service_kit.auth import Principal
from service_kit.db import Database
from service_kit.errors import Conflict, NotFound, UnprocessableContent
from service_kit.secrets import SecretBox

log = structlog.get_logger("gateway.admin")


async def _operator(request: Request) -> Principal:
    try:
        return await require_operator(request)
    except NotFound:
        raise NotFound(f"There is nothing at {request.url.path}.") from None


router = APIRouter(prefix="/admin", include_in_schema=False)
#: Every route takes it: who acts is logged with what changed (never a secret).
Operator = Annotated[Principal, Depends(_operator)]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # a secret is shown once (RFC 6749 5.1)


class ClientRead(BaseModel):
    client_id: str
    kind: str
    partner_id: str | None
    channel: str | None
    scopes: list[str]
    tier: str
    enabled: bool
    created_at: datetime


class ClientList(BaseModel):
    items: list[ClientRead]


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["partner", "service", "internal"] = "partner"
    scopes: list[str] = Field(min_length=1, max_length=len(KNOWN_SCOPES))
    partner_id: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=64)
    tier: str = Field(default="standard", max_length=32)
    client_id: str | None = Field(default=None, max_length=64, description="Default: generated.")


class ClientRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(max_length=64)


class ClientChange(ClientRef):
    enabled: bool


class ClientSecret(BaseModel):
    """Shown once: keep it now."""

    client_id: str
    client_secret: str


class KeyList(BaseModel):
    items: list[keys.KeyState]


def _read(info: clients.ClientInfo) -> ClientRead:
    return ClientRead(
        client_id=info.client_id,
        kind=info.kind,
        partner_id=info.partner_id,
        channel=info.channel,
        scopes=info.scope_list,
        tier=info.tier,
        enabled=info.enabled,
        created_at=info.created_at,
    )


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


@router.get("/clients")
async def list_clients(request: Request, _: Operator) -> ClientList:
    return ClientList(items=[_read(c) for c in await clients.list_clients(_db(request))])


@router.post("/clients", status_code=201)
async def create_client(request: Request, response: Response, operator: Operator, body: ClientCreate) -> ClientSecret:
    unknown = [s for s in body.scopes if s not in KNOWN_SCOPES]
    if unknown:
        raise UnprocessableContent(f"Unknown scope(s) {', '.join(unknown)}; valid: {', '.join(KNOWN_SCOPES)}.")
    tiers = sorted(_settings(request).rate_limits)
    if body.tier not in tiers:
        raise UnprocessableContent(
            f"Unknown rate tier {body.tier!r}; valid: {', '.join(tiers)} (INTERCHANGE_GATEWAY_RATE_LIMITS)."
        )
    client_id, secret = await clients.create_client(
        _db(request),
        client_id=body.client_id,
        kind=body.kind,
        partner_id=body.partner_id,
        channel=body.channel,
        scopes=body.scopes,
        tier=body.tier,
    )
    log.info("client_registered", client_id=client_id, kind=body.kind, scopes=body.scopes, by=operator.client_id)
    response.headers.update(_NO_STORE)
    return ClientSecret(client_id=client_id, client_secret=secret)


@router.patch("/clients")
async def change_client(request: Request, operator: Operator, body: ClientChange) -> ClientRead:
    """Disable a client (no new tokens; the ones it has are refused within seconds,
    gateway/clients.py) or enable it again (its unexpired tokens are accepted again)."""
    db = _db(request)
    await (clients.enable_client if body.enabled else clients.disable_client)(db, body.client_id)
    log.info("client_enabled" if body.enabled else "client_disabled", client_id=body.client_id, by=operator.client_id)
    return _read(await clients.get_client(db, body.client_id))


@router.post("/client-secrets")
async def rotate_secret(request: Request, response: Response, operator: Operator, body: ClientRef) -> ClientSecret:
    """A new secret for the client, shown once; the old one stops working at once."""
    secret = await clients.rotate_secret(_db(request), body.client_id)
    log.info("client_secret_rotated", client_id=body.client_id, by=operator.client_id)
    response.headers.update(_NO_STORE)
    return ClientSecret(client_id=body.client_id, client_secret=secret)


def _schedule(settings: GatewaySettings) -> keys.KeySchedule:
    if settings.external_issuer:
        raise Conflict(
            f"This gateway does not sign tokens: they come from the external issuer {settings.issuer}; "
            "rotate its keys there."
        )
    return keys.KeySchedule.for_settings(
        publish_delay=settings.signing_key_publish_delay, token_lifetime=settings.token_lifetime
    )


@router.get("/keys")
async def list_keys(request: Request, _: Operator) -> KeyList:
    """Every key and its state: next, signing, retired (published until its tokens expire), expired."""
    return KeyList(items=await keys.list_keys(_db(request), _schedule(_settings(request))))


@router.post("/keys")
async def rotate_keys(request: Request, operator: Operator) -> KeyList:
    """Add a key (published now, signs after the publish delay) and prune the keys no token needs."""
    settings = _settings(request)
    states = await keys.rotate_keys(_db(request), _schedule(settings), box=SecretBox.from_settings(settings))
    log.info("signing_keys_rotated", by=operator.client_id)
    return KeyList(items=states)


__all__ = [
    "ClientChange",
    "ClientCreate",
    "ClientList",
    "ClientRead",
    "ClientRef",
    "ClientSecret",
    "KeyList",
    "router",
]
