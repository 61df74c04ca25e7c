"""The keys access tokens are signed with: RS256, kept in the gateway's database so a restart
keeps every issued token valid; the first start generates one.

Rotation (``interchange keys rotate``, ``rotate_keys``) adds a key; nothing is switched by hand.
Every state below follows from the table and the clock, so every gateway worker, each reloading
the table every few seconds (``KeyStore.refresh``), comes to the same answer:

    next       a key is published in the JWKS as soon as it is added, and starts signing only
               ``publish_delay`` seconds later (default 600 s, twice the JWKS' Cache-Control
               max-age), so whoever verifies tokens has fetched it before the first token it signs
    signing    the newest key whose delay has passed (the very first key signs at once: nobody
               can hold a token of an older one)
    retired    an older key: signs no more, stays published until every token it signed has
               expired (``retire_after`` seconds after its successor started signing: the token
               lifetime plus a margin for clock skew and reload lag), then is deleted (pruned)

At rest, a key's private half is sealed with the suite's secrets key (``service_kit.secrets``):
a raw read of the database shows no key material. A row written in clear by an older version is
sealed when the gateway starts (``seal_keys``); ``interchange secrets rotate`` re-seals every key
under a new secrets key (``reseal_keys``).

A key whose ``active`` flag is off never signs (nothing clears the flag today; it is the way to
take a key out of signing without a new one). Each worker reloads the table every
``state_refresh_interval`` seconds: a key starts or stops signing within that lag, which the
publish delay and the retirement margin both cover.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from gateway.models import SigningKey
from service_kit.db import Database
from service_kit.secrets import SecretBox, is_sealed

ALGORITHM = "RS256"
RSA_KEY_BITS = 2048
#: Seconds a retired key stays published beyond the token lifetime: the verifiers' clock-skew
#: leeway (30 s) and the workers' reload lag, with room to spare.
RETIRE_MARGIN = 120

log = structlog.get_logger("gateway.keys")


@dataclass(frozen=True)
class KeySchedule:
    """How long keys are published before and after they sign."""

    publish_delay: float
    retire_after: float

    @classmethod
    def for_settings(cls, *, publish_delay: float, token_lifetime: float) -> KeySchedule:
        return cls(publish_delay=publish_delay, retire_after=token_lifetime + RETIRE_MARGIN)


@dataclass(frozen=True)
class KeyState:
    """One key as the schedule sees it at a moment (what ``interchange keys list`` shows)."""

    kid: str
    seq: int
    created_at: datetime
    state: str  # next | signing | retired | expired (due to be pruned)
    #: When it starts (or started) signing; ``None`` for a key that never signs.
    signs_from: datetime | None
    #: When it stops being published; ``None`` while it signs or waits to.
    published_until: datetime | None

    @property
    def published(self) -> bool:
        return self.state != "expired"


@dataclass(frozen=True)
class KeyRing:
    #: The one key new tokens are signed with.
    signing: KeySet
    #: Every published key, public halves only: what services (and the gateway) verify against.
    public: KeySet
    #: ``public`` as served at /.well-known/jwks.json.
    jwks: dict[str, Any]

    @property
    def signing_kid(self) -> str:
        return str(self.signing.keys[0].kid)

    @property
    def published_kids(self) -> tuple[str, ...]:
        return tuple(str(k.kid) for k in self.public.keys)


def key_states(rows: Sequence[SigningKey], *, now: datetime, schedule: KeySchedule) -> list[KeyState]:
    """The state of every key at ``now`` (rows in ``seq`` order). Pure: the tests drive the clock."""
    rows = sorted(rows, key=lambda r: r.seq)
    delay = timedelta(seconds=schedule.publish_delay)
    starts: dict[str, datetime | None] = {}
    for i, row in enumerate(rows):
        if not row.active:
            starts[row.kid] = None
        else:
            starts[row.kid] = _aware(row.created_at) + (delay if i else timedelta(0))
    eligible = [r for r in rows if (s := starts[r.kid]) is not None and s <= now]
    active = [r for r in rows if r.active]
    signer = eligible[-1] if eligible else (active[-1] if active else None)
    retire = timedelta(seconds=schedule.retire_after)
    states = []
    for i, row in enumerate(rows):
        start = starts[row.kid]
        if signer is not None and row.kid == signer.kid:
            states.append(KeyState(row.kid, row.seq, _aware(row.created_at), "signing", start, None))
            continue
        if signer is None or row.seq > signer.seq:
            state = "next" if start is not None else "retired"
            states.append(KeyState(row.kid, row.seq, _aware(row.created_at), state, start, None))
            continue
        # Older than the signer: it stopped signing when the first newer key started to.
        later = [s for r in rows[i + 1 :] if (s := starts[r.kid]) is not None and s <= now]
        stopped = min(later) if later else now
        until = stopped + retire
        states.append(
            KeyState(row.kid, row.seq, _aware(row.created_at), "retired" if now < until else "expired", start, until)
        )
    return states


def build_key_ring(rows: Sequence[SigningKey], *, now: datetime, schedule: KeySchedule, box: SecretBox) -> KeyRing:
    states = {s.kid: s for s in key_states(rows, now=now, schedule=schedule)}
    by_kid = {row.kid: row for row in rows}
    signer = next(s for s in states.values() if s.state == "signing")
    signing = RSAKey.import_key(json.loads(box.open(by_kid[signer.kid].jwk)))
    published = [by_kid[s.kid] for s in sorted(states.values(), key=lambda s: s.seq) if s.published]
    public = KeySet.import_key_set({"keys": [_public_half(box.open(row.jwk)) for row in published]})
    return KeyRing(signing=KeySet([signing]), public=public, jwks=dict(public.as_dict(private=False)))


async def load_key_ring(
    db: Database, schedule: KeySchedule | None = None, *, box: SecretBox, now: datetime | None = None
) -> KeyRing:
    """The keys in the database; generates and stores the first one when none is active."""
    schedule = schedule or KeySchedule(publish_delay=0, retire_after=RETIRE_MARGIN)
    rows = await _all_keys(db)
    if not any(row.active for row in rows):
        await _add_key(db, seq=max((row.seq for row in rows), default=0) + 1, box=box)
        rows = await _all_keys(db)
    return build_key_ring(rows, now=now or datetime.now(UTC), schedule=schedule, box=box)


async def rotate_keys(
    db: Database, schedule: KeySchedule, *, box: SecretBox, now: datetime | None = None
) -> list[KeyState]:
    """Add a key (it signs after the publish delay) and prune keys whose tokens have all expired.
    Returns the keys' states after the rotation."""
    rows = await _all_keys(db)
    await _add_key(db, seq=max((row.seq for row in rows), default=0) + 1, box=box)
    await prune_keys(db, schedule, now=now)
    return await list_keys(db, schedule, now=now)


async def list_keys(db: Database, schedule: KeySchedule, *, now: datetime | None = None) -> list[KeyState]:
    return key_states(await _all_keys(db), now=now or datetime.now(UTC), schedule=schedule)


async def prune_keys(db: Database, schedule: KeySchedule, *, now: datetime | None = None) -> list[str]:
    """Delete the keys no valid token can have been signed with; returns their kids."""
    states = await list_keys(db, schedule, now=now)
    return await _delete([s.kid for s in states if s.state == "expired"], db)


async def seal_keys(db: Database, box: SecretBox) -> int:
    """Seal the private keys an older version stored in clear; returns how many."""
    async with db.transaction() as session:
        rows = (await session.execute(select(SigningKey))).scalars().all()
        clear = [row for row in rows if not is_sealed(row.jwk)]
        for row in clear:
            row.jwk = box.seal(row.jwk)
    if clear:
        log.info("signing_keys_sealed", kids=[row.kid for row in clear])
    return len(clear)


async def reseal_keys(db: Database, box: SecretBox) -> int:
    """Re-encrypt every private key under the newest secrets key; returns how many."""
    async with db.transaction() as session:
        rows = (await session.execute(select(SigningKey))).scalars().all()
        for row in rows:
            row.jwk = box.reseal(row.jwk)
    return len(rows)


async def keys_sealed_with_newest(db: Database, box: SecretBox) -> bool:
    """Whether the newest secrets key alone opens every private key (older ones can go)."""
    return all(box.opens_with_newest_only(row.jwk) for row in await _all_keys(db))


class KeyStore:
    """The current key ring of this worker, reloaded from the database by ``refresh``."""

    def __init__(self, db: Database, schedule: KeySchedule, *, box: SecretBox) -> None:
        self.db = db
        self.schedule = schedule
        self.box = box
        self._seen: tuple[tuple[str, str], ...] = ()
        self._ring: KeyRing | None = None

    @property
    def ring(self) -> KeyRing:
        assert self._ring is not None, "KeyStore.refresh has not run"
        return self._ring

    @classmethod
    async def open(cls, db: Database, schedule: KeySchedule, *, box: SecretBox) -> KeyStore:
        """The store over the database's keys; the first one is generated when none is active,
        and keys an older version stored in clear are sealed."""
        store = cls(db, schedule, box=box)
        await seal_keys(db, box)
        if not any(row.active for row in await _all_keys(db)):
            await load_key_ring(db, schedule, box=box)
        await store.refresh()
        return store

    async def refresh(self, *, now: datetime | None = None) -> bool:
        """Reload the table; returns whether the ring changed (a key added, started signing or was
        pruned). Keys due to be pruned are deleted here too, by whichever worker sees them first."""
        now = now or datetime.now(UTC)
        rows = await _all_keys(self.db)
        if not any(row.active for row in rows):
            return False  # someone emptied the table: keep signing with what we have
        states = key_states(rows, now=now, schedule=self.schedule)
        expired = [s.kid for s in states if s.state == "expired"]
        if expired:
            await _delete(expired, self.db)
        seen = tuple((s.kid, s.state) for s in states if s.published)
        if seen == self._seen:
            return False
        self._ring = build_key_ring(rows, now=now, schedule=self.schedule, box=self.box)
        self._seen = seen
        log.info("signing_keys_loaded", signing=self.ring.signing_kid, published=list(self.ring.published_kids))
        return True


async def _all_keys(db: Database) -> list[SigningKey]:
    async with db.transaction() as session:
        return list((await session.execute(select(SigningKey).order_by(SigningKey.seq))).scalars())


async def _add_key(db: Database, *, seq: int, box: SecretBox) -> None:
    # RSA key generation takes tens of milliseconds: keep it off the event loop.
    key = await asyncio.to_thread(_generate_key)
    jwk = box.seal(json.dumps(key.as_dict(private=True)))
    row = SigningKey(kid=str(key.kid), seq=seq, jwk=jwk, created_at=datetime.now(UTC), active=True)
    try:
        async with db.transaction() as session:
            if await session.scalar(select(func.count()).where(SigningKey.seq == seq)):
                return
            session.add(row)
    except IntegrityError:
        return  # another worker added key number ``seq`` first; we use theirs
    log.info("signing_key_created", kid=row.kid, seq=seq)


async def _delete(kids: list[str], db: Database) -> list[str]:
    if not kids:
        return []
    async with db.transaction() as session:
        await session.execute(delete(SigningKey).where(SigningKey.kid.in_(kids)))
    log.info("signing_keys_pruned", kids=kids)
    return kids


def _generate_key() -> RSAKey:
    # kid: the key's RFC 7638 thumbprint.
    return RSAKey.generate_key(RSA_KEY_BITS, {"use": "sig", "alg": ALGORITHM}, private=True, auto_kid=True)


def _public_half(private_jwk: str) -> dict[str, Any]:
    return dict(RSAKey.import_key(json.loads(private_jwk)).as_dict(private=False))


def _aware(moment: datetime) -> datetime:
    # SQLite hands timezone-aware columns back naive (in UTC, as they were written).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


__all__ = [
    "ALGORITHM",
    "KeyRing",
    "KeySchedule",
    "KeyState",
    "KeyStore",
    "build_key_ring",
    "key_states",
    "keys_sealed_with_newest",
    "list_keys",
    "load_key_ring",
    "prune_keys",
    "reseal_keys",
    "rotate_keys",
    "seal_keys",
]
