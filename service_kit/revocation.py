"""Revoked clients: every service refuses the tokens of a client the gateway disabled, as fast as
the gateway does, instead of accepting them until they expire.

How a revocation travels: ``interchange clients disable`` commits ``enabled = false`` and a
``com.interchange.client.revoked.v1`` event together in the gateway's outbox; the gateway's relay
(``control_relay``) publishes it on the control bus; every service's ``client_revocations`` worker
consumes it (a consumer group per service, so each service applies it once), records ``(client
id, revoked at)`` in its own database (``revoked_clients``) and, once that commits, in this
process's deny list.

The control bus (``control_bus_url``) is the suite's event bus with a log of its own: SQLite
``control-events.db`` beside ``events.db``, looked at every ``CONTROL_POLL`` seconds when idle;
Redis, the stream ``<stream>.control``. On the shared log, each service's revocation consumer
would read (and ack) every business event of the suite to find the rare revocation: a dozen
extra consumer groups' writes per order event. Here it reads revocations only. ``enable``
publishes ``com.interchange.client.reinstated.v1``, which clears the entry. Both carry the change's
time as ``entityversion``, so a late redelivery of an older change never overrides a newer one.

``authenticate`` (service_kit.auth) checks the deny list on every request, after the token is
verified (cached or not): a token of a listed client issued at or before ``revoked_at`` is a 401.
Tokens issued after it (the client was re-enabled and disabled again later) are judged by the
newer entry. The list is in memory, a dictionary lookup per request, and empty in the common case.

Replicas of one service share the consumer group, so only one of them receives each event; the
others read the table again every ``refresh_seconds`` (5 s, the gateway's own refresh interval).
A process starting up loads the table before it serves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import structlog
from sqlalchemy import DateTime, String, delete, event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from contracts.events import ClientReinstatedV1, ClientRevokedV1, CloudEvent
from service_kit.db import Database, KitBase
from service_kit.events.consumer import run_consumer
from service_kit.events.envelopes import event_data
from service_kit.events.factory import events_url, open_bus
from service_kit.events.outbox import run_relay
from service_kit.events.workers import member_name
from service_kit.workers import Wakeup, run_worker, stop_event

if TYPE_CHECKING:
    from fastapi import FastAPI

    from service_kit.events.consumer import EventHandler

log = structlog.get_logger("service_kit.revocation")

#: Seconds between two reloads of the table by a process (what a replica that did not receive
#: the event waits at most).
REFRESH_SECONDS = 5.0
#: Seconds between two looks at an idle SQLite control log (what a revocation may wait for there).
CONTROL_POLL = 1.0
CONTROL_LOG = "control-events.db"


class RevokedClient(KitBase):
    __tablename__ = "revoked_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RevokedClients:
    """This process's deny list: client id -> when it was revoked (seconds since the epoch)."""

    def __init__(self, revoked: Mapping[str, float] | None = None) -> None:
        self._revoked: dict[str, float] = dict(revoked or {})

    def __len__(self) -> int:
        return len(self._revoked)

    def refuses(self, claims: Mapping[str, Any]) -> bool:
        """Whether a verified token's claims belong to a revoked client and predate the revocation."""
        if not self._revoked:
            return False
        revoked_at = self._revoked.get(str(claims.get("client_id", "")))
        if revoked_at is None:
            return False
        try:
            issued_at = float(claims["iat"])
        except (KeyError, TypeError, ValueError):
            return True  # verified tokens always carry iat; refuse rather than guess
        return issued_at <= revoked_at

    def revoke(self, *, client_id: str, revoked_at: datetime) -> None:
        self._revoked[client_id] = _aware(revoked_at).timestamp()

    def reinstate(self, *, client_id: str) -> None:
        self._revoked.pop(client_id, None)

    async def refresh(self, db: Database) -> None:
        """Replace the list with the table's (what the other replicas applied)."""
        async with db.transaction() as session:
            rows = (await session.execute(select(RevokedClient.client_id, RevokedClient.revoked_at))).all()
        self._revoked = {client_id: _aware(at).timestamp() for client_id, at in rows}

    @classmethod
    async def load(cls, db: Database) -> RevokedClients:
        revoked = cls()
        await revoked.refresh(db)
        return revoked


def revocation_handlers(revoked: RevokedClients) -> dict[str, EventHandler]:
    """The consumer's handlers: record the change in the service's table, and in ``revoked`` once
    that transaction commits (a rolled-back one changes nothing here either)."""

    async def on_revoked(*, session: AsyncSession, event: CloudEvent) -> None:
        data = event_data(event=event, model=ClientRevokedV1)
        row = await session.get(RevokedClient, data.client_id)
        if row is None:
            session.add(RevokedClient(client_id=data.client_id, revoked_at=data.revoked_at))
        else:
            row.revoked_at = data.revoked_at
        _after_commit(session, lambda: revoked.revoke(client_id=data.client_id, revoked_at=data.revoked_at))
        log.info("client_revoked", client_id=data.client_id, revoked_at=data.revoked_at.isoformat())

    async def on_reinstated(*, session: AsyncSession, event: CloudEvent) -> None:
        data = event_data(event=event, model=ClientReinstatedV1)
        await session.execute(delete(RevokedClient).where(RevokedClient.client_id == data.client_id))
        _after_commit(session, lambda: revoked.reinstate(client_id=data.client_id))
        log.info("client_reinstated", client_id=data.client_id)

    return {ClientRevokedV1.event_type: on_revoked, ClientReinstatedV1.event_type: on_reinstated}


def control_bus_url(settings: Any) -> str:
    """The control bus beside the settings' event bus (see the module's docstring)."""
    parts = urlsplit(events_url(settings=settings))
    options = dict(parse_qsl(parts.query))
    if parts.scheme.split("+", 1)[0] == "sqlite":
        options["poll"] = str(CONTROL_POLL)
        path = PurePosixPath(parts.path).with_name(CONTROL_LOG)  # keeps sqlite:////abs's leading //
        return f"{parts.scheme}://{parts.netloc}{path}?{urlencode(options)}"
    options["stream"] = options.get("stream", "interchange:events") + ".control"
    return urlunsplit(parts._replace(query=urlencode(options)))


def control_relay() -> Callable[[FastAPI], Any]:
    """The gateway's outbox relay: its outbox holds client events only, published on the control bus."""

    async def control_relay(app: FastAPI) -> None:
        bus = open_bus(url=control_bus_url(app.state.settings))
        try:
            await run_relay(db=app.state.db, bus=bus, stop_event=stop_event(app))
        finally:
            await bus.close()

    return control_relay


def client_revocations(*, refresh_seconds: float = REFRESH_SECONDS) -> Callable[[FastAPI], Any]:
    """The worker every service runs (the app factory adds it): consume the control bus's client
    events as ``<service>.client-revocations``, and reload the table every ``refresh_seconds``."""

    async def client_revocations(app: FastAPI) -> None:
        revoked: RevokedClients = app.state.revoked_clients
        db: Database = app.state.db
        group = f"{app.state.settings.service}.client-revocations"
        bus = open_bus(url=control_bus_url(app.state.settings))

        async def reload() -> int:
            await revoked.refresh(db)
            return 0

        try:
            await asyncio.gather(
                run_consumer(
                    bus=bus,
                    db=db,
                    group=group,
                    consumer=member_name(prefix=f"{group}@"),
                    handlers=revocation_handlers(revoked),
                    stop_event=stop_event(app),
                ),
                run_worker(
                    "client_revocations_reload",
                    reload,
                    wakeup=Wakeup(),
                    stop_event=stop_event(app),
                    idle_backoff=(refresh_seconds, refresh_seconds),
                ),
            )
        finally:
            await bus.close()

    return client_revocations


def _after_commit(session: AsyncSession, action: Callable[[], None]) -> None:
    event.listen(session.sync_session, "after_commit", lambda _session: action(), once=True)


def _aware(moment: datetime) -> datetime:
    # SQLite hands timezone-aware columns back naive (in UTC, as they were written).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


__all__ = [
    "CONTROL_POLL",
    "REFRESH_SECONDS",
    "RevokedClient",
    "RevokedClients",
    "client_revocations",
    "control_bus_url",
    "control_relay",
    "revocation_handlers",
]
