"""``PgNotifyProbe``: wake-ups across the replicas of a service on PostgreSQL (LISTEN/NOTIFY).

A commit that makes work wakes the worker of its own process at once (``Wakeup.notify()`` in an
``after_commit`` hook). With replicas, the work may be claimed by any of them: ``notify()`` on a
wake-up whose probe is a ``PgNotifyProbe`` also announces it (``NOTIFY <channel>``) to the other
processes, whose idle workers on the same channel run at once instead of after their poll
interval. The embedded SQLite suite has ``DataVersionProbe`` (``service_kit.sqlite_watch``) instead;
on Redis the event consumers block in ``XREADGROUP`` and need neither.

One connection per probe (a channel) while a worker subscribes: it LISTENs, and sends the
announcements (coalesced: while one is on its way, any number of further ones become one more).
A process ignores its own announcements (the payload is its token). The connection is opened when
the first worker subscribes and closed when the last leaves; a lost connection is opened again
after a pause (0.5 s doubling to 30 s), and every subscriber is woken then (a notification sent
while nobody listened is lost: the pass finds what it announced). While it is down the workers
fall back on their poll interval; nothing fails because of it.

asyncpg directly (the SQLAlchemy driver underneath): ``add_listener`` has no SQLAlchemy form.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.engine import URL, make_url

if TYPE_CHECKING:
    from service_kit.workers import Wakeup

log = structlog.get_logger("service_kit.pg_watch")

#: Channel names are identifiers (at most 63 bytes): ``interchange_<topic>``.
CHANNEL_PREFIX = "interchange_"


def channel_for(topic: str) -> str:
    name = CHANNEL_PREFIX + "".join(c if c.isalnum() else "_" for c in topic.lower())
    return name[:63]


def notify_probe(*, url: str | URL, topic: str) -> PgNotifyProbe | None:
    """The probe for ``topic`` on the database at ``url`` (a SQLAlchemy URL); None unless PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return None
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return PgNotifyProbe(dsn=dsn, channel=channel_for(topic))


class PgNotifyProbe:
    """A ``Wakeup``'s probe for the work other processes announce on ``channel``, and the way this
    process announces its own (``announce``)."""

    def __init__(self, *, dsn: str, channel: str, max_pause: float = 30.0) -> None:
        self._dsn = dsn
        self.channel = channel
        self._max_pause = max_pause
        self._token = uuid.uuid4().hex
        self._subscribers: set[Wakeup] = set()
        self._task: asyncio.Task[None] | None = None
        self._conn: Any = None
        self._sending: asyncio.Task[None] | None = None
        self._again = False
        #: Set while the connection LISTENs (what tests wait for).
        self.listening = asyncio.Event()

    def subscribe(self, wakeup: Wakeup) -> None:
        self._subscribers.add(wakeup)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._listen(), name=f"listen:{self.channel}")

    def unsubscribe(self, wakeup: Wakeup) -> None:
        self._subscribers.discard(wakeup)
        if not self._subscribers and self._task is not None:
            self._task.cancel()
            self._task = None

    def announce(self) -> None:
        """Tell the other processes (from the event loop's thread). Not listening: nothing is sent
        (the others find the work at their next poll)."""
        if self._conn is None:
            return
        if self._sending is not None and not self._sending.done():
            self._again = True
            return
        self._sending = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        try:
            while True:
                self._again = False
                conn = self._conn
                if conn is None:
                    return
                await conn.execute("SELECT pg_notify($1, $2)", self.channel, self._token)
                if not self._again:
                    return
        except Exception as exc:  # the listener sees a lost connection and opens another
            log.warning("pg_notify_failed", channel=self.channel, error=repr(exc))

    def _heard(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload != self._token:
            self._wake_all()

    def _wake_all(self) -> None:
        for wakeup in list(self._subscribers):
            wakeup.wake_here()

    async def _listen(self) -> None:
        import asyncpg

        pause = 0.5
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self._dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _, lost=lost: lost.set())
                await conn.add_listener(self.channel, self._heard)
                self._conn, pause = conn, 0.5
                self.listening.set()
                self._wake_all()  # whatever was announced while nobody listened
                await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("pg_listen_failed", channel=self.channel, error=repr(exc), retry_in=pause)
            finally:
                self._conn = None
                self.listening.clear()
                if conn is not None:
                    conn.terminate()  # no await: this may run while the task is cancelled
            await asyncio.sleep(pause)
            pause = min(self._max_pause, pause * 2)


__all__ = ["PgNotifyProbe", "channel_for", "notify_probe"]
