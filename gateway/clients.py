"""The client registry: who may get a token, with which scopes, for which partner and tier.

The functions the CLI (``interchange clients ...``), the bootstrap and the tests call; each takes
the gateway's ``Database`` and runs its own unit of work. The token endpoint reads clients through
``find_clients`` inside the request's session.

Secrets are hashed with plain SHA-256, on purpose. Slow password hashes (bcrypt, scrypt, argon2)
exist to make guessing *low-entropy*, human-chosen passwords expensive after a database leak. Our
secrets are 256 random bits (``secrets.token_urlsafe(32)``): 2**256 guesses are out of reach at any
hash speed, so a slow hash would add only latency to every token request (and a CPU lever for
anyone hammering the endpoint) and no security. That argument holds only for random secrets, so
``ensure_client`` refuses short ones.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import ClientReinstatedV1, ClientRevokedV1, EventData
from gateway.models import OAuthClient
from service_kit.db import Database
from service_kit.errors import Conflict, NotFound, UnprocessableContent
from service_kit.events.envelopes import new_event
from service_kit.events.outbox import stage_event

KINDS = ("partner", "service", "internal")
MIN_SECRET_LENGTH = 32

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SCOPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,99}$")
_TIER = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_HASH_PREFIX = "sha256:"


@dataclass(frozen=True)
class ClientInfo:
    """A registered client as the CLI shows it (never its secret)."""

    client_id: str
    kind: str
    partner_id: str | None
    channel: str | None
    scopes: tuple[str, ...]
    tier: str
    enabled: bool
    created_at: datetime

    @property
    def scope_list(self) -> list[str]:
        return list(self.scopes)


@dataclass(frozen=True)
class StoredClient(ClientInfo):
    """A client with its secret hash, for authenticating it at the token endpoint."""

    secret_hash: str = field(repr=False)

    def secret_matches(self, secret: str) -> bool:
        return secret_matches(secret, self.secret_hash)


def new_secret() -> str:
    """256 bits from the OS's CSPRNG, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return _HASH_PREFIX + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    # Constant-time comparison of the digests: the time taken says nothing about how much matched.
    return hmac.compare_digest(hash_secret(secret).encode("ascii"), stored_hash.encode("ascii"))


async def create_client(
    db: Database,
    *,
    client_id: str | None = None,
    kind: str,
    partner_id: str | None = None,
    channel: str | None = None,
    scopes: Sequence[str],
    tier: str = "standard",
) -> tuple[str, str]:
    """Register a client with a new secret; returns ``(client_id, secret)``. The secret is shown
    only here: we keep its hash."""
    client_id = client_id or f"{partner_id or kind}-{secrets.token_hex(4)}"
    secret = new_secret()
    row = _new_row(
        client_id=client_id, secret=secret, kind=kind, partner_id=partner_id, channel=channel, scopes=scopes, tier=tier
    )
    try:
        async with db.transaction() as session:
            if await session.get(OAuthClient, client_id) is not None:
                raise Conflict(f"A client {client_id!r} already exists.")
            session.add(row)
    except IntegrityError as exc:
        raise Conflict(f"A client {client_id!r} already exists.") from exc
    return client_id, secret


async def ensure_client(
    db: Database,
    *,
    client_id: str,
    secret: str,
    kind: str,
    partner_id: str | None,
    channel: str | None,
    scopes: Sequence[str],
    tier: str,
) -> bool:
    """Register a client with a secret we were given, unless it exists already (then it is left
    exactly as it is). Returns whether it was created. For bootstrapping the suite's own clients."""
    if len(secret) < MIN_SECRET_LENGTH:
        raise UnprocessableContent(
            f"A client secret must be at least {MIN_SECRET_LENGTH} random characters (use secrets.token_urlsafe(32))."
        )
    row = _new_row(
        client_id=client_id, secret=secret, kind=kind, partner_id=partner_id, channel=channel, scopes=scopes, tier=tier
    )
    try:
        async with db.transaction() as session:
            if await session.get(OAuthClient, client_id) is not None:
                return False
            session.add(row)
    except IntegrityError:
        return False  # created concurrently by someone else: it exists, which is what we wanted
    return True


async def list_clients(db: Database) -> list[ClientInfo]:
    async with db.transaction() as session:
        rows = (await session.execute(select(OAuthClient).order_by(OAuthClient.client_id))).scalars()
        return [_info(row) for row in rows]


async def get_client(db: Database, client_id: str) -> ClientInfo:
    async with db.transaction() as session:
        return _info(await _existing(session, client_id))


async def disable_client(db: Database, client_id: str) -> None:
    """No new tokens for this client, and the ones it has are refused: by the gateway within
    ``state_refresh_interval`` seconds (``DisabledClients``), and by every service that verifies
    them directly as soon as it consumes the ``client.revoked`` event committed here with the
    change (the gateway's outbox relay publishes it; service_kit.revocation)."""
    async with db.transaction() as session:
        (await _existing(session, client_id)).enabled = False
        now = datetime.now(UTC)
        _announce(session, client_id, now, ClientRevokedV1(client_id=client_id, revoked_at=now))


async def enable_client(db: Database, client_id: str) -> None:
    """The client gets tokens again, and the services accept its tokens again (``client.reinstated``)."""
    async with db.transaction() as session:
        (await _existing(session, client_id)).enabled = True
        now = datetime.now(UTC)
        _announce(session, client_id, now, ClientReinstatedV1(client_id=client_id, reinstated_at=now))


def _announce(session: AsyncSession, client_id: str, now: datetime, data: EventData) -> None:
    # The change's time in microseconds is the subject's version: consumers skip an older change
    # that arrives after a newer one (disable, then enable, redelivered out of order).
    version = int(now.timestamp() * 1_000_000)
    event = new_event(data=data, source="/gateway", subject=f"client/{client_id}", entity_version=version)
    stage_event(session=session, event=event)


async def rotate_secret(db: Database, client_id: str) -> str:
    """Give the client a new secret (returned once); the old one stops working at once."""
    secret = new_secret()
    async with db.transaction() as session:
        (await _existing(session, client_id)).secret_hash = hash_secret(secret)
    return secret


async def find_clients(session: AsyncSession, client_ids: Iterable[str]) -> dict[str, StoredClient]:
    """The clients among ``client_ids`` that exist (enabled or not), by id."""
    ids = {i for i in client_ids if i}
    if not ids:
        return {}
    rows = (await session.execute(select(OAuthClient).where(OAuthClient.client_id.in_(ids)))).scalars()
    return {row.client_id: _stored(row) for row in rows}


async def disabled_client_ids(db: Database) -> frozenset[str]:
    async with db.transaction() as session:
        rows = await session.execute(select(OAuthClient.client_id).where(OAuthClient.enabled.is_(False)))
        return frozenset(rows.scalars())


class DisabledClients:
    """The ids of disabled clients, as the gateway last read them (``refresh``, every few seconds):
    the proxy refuses their tokens at once instead of when the tokens expire, without a database
    read per request. A client the database does not know (an external issuer's) is not refused."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.ids: frozenset[str] = frozenset()

    def __contains__(self, client_id: object) -> bool:
        return client_id in self.ids

    async def refresh(self) -> None:
        self.ids = await disabled_client_ids(self._db)


async def _existing(session: AsyncSession, client_id: str) -> OAuthClient:
    row = await session.get(OAuthClient, client_id)
    if row is None:
        raise NotFound(f"No client {client_id!r}.")
    return row


def _new_row(
    *,
    client_id: str,
    secret: str,
    kind: str,
    partner_id: str | None,
    channel: str | None,
    scopes: Sequence[str],
    tier: str,
) -> OAuthClient:
    problems = []
    if not _ID.match(client_id):
        problems.append(("client_id", "letters, digits, '.', '_' and '-' only, at most 64 characters"))
    if kind not in KINDS:
        problems.append(("kind", f"one of {', '.join(KINDS)}"))
    if kind == "partner":
        if not partner_id or not _ID.match(partner_id):
            problems.append(("partner_id", "required for a partner client (letters, digits, '.', '_', '-')"))
        if not channel or not _ID.match(channel):
            problems.append(("channel", "required for a partner client, e.g. marketplace"))
    elif partner_id or channel:
        problems.append(("partner_id", "only partner clients have a partner and a channel"))
    unique_scopes = list(dict.fromkeys(scopes))
    if not unique_scopes:
        problems.append(("scopes", "grant at least one scope"))
    problems += [("scopes", f"{s!r} is not a scope name") for s in unique_scopes if not _SCOPE.match(s)]
    if not _TIER.match(tier):
        problems.append(("tier", "a lowercase name, e.g. standard"))
    if problems:
        errors = [{"pointer": f"#/{name}", "in": "body", "detail": detail} for name, detail in problems]
        raise UnprocessableContent(
            "The client cannot be registered: " + "; ".join(f"{n}: {d}" for n, d in problems) + ".", errors=errors
        )
    return OAuthClient(
        client_id=client_id,
        secret_hash=hash_secret(secret),
        kind=kind,
        partner_id=partner_id if kind == "partner" else None,
        channel=channel if kind == "partner" else None,
        scopes=" ".join(unique_scopes),
        tier=tier,
        enabled=True,
        created_at=datetime.now(UTC),
    )


def _fields(row: OAuthClient) -> dict[str, Any]:
    return {
        "client_id": row.client_id,
        "kind": row.kind,
        "partner_id": row.partner_id,
        "channel": row.channel,
        "scopes": tuple(row.scopes.split()),
        "tier": row.tier,
        "enabled": row.enabled,
        "created_at": row.created_at,
    }


def _info(row: OAuthClient) -> ClientInfo:
    return ClientInfo(**_fields(row))


def _stored(row: OAuthClient) -> StoredClient:
    return StoredClient(**_fields(row), secret_hash=row.secret_hash)


__all__ = [
    "KINDS",
    "ClientInfo",
    "DisabledClients",
    "StoredClient",
    "create_client",
    "disable_client",
    "disabled_client_ids",
    "enable_client",
    "ensure_client",
    "find_clients",
    "get_client",
    "hash_secret",
    "list_clients",
    "new_secret",
    "rotate_secret",
    "secret_matches",
]
