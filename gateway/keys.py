"""The keys access tokens are signed with: RS256, kept in the gateway's database so a restart
keeps every issued token valid; the first start generates one.

The newest active key signs; every key in the table is published at ``/.well-known/jwks.json``
(public halves only), so tokens signed by a key that was since deactivated still verify until
they expire. Rotation (add a key, deactivate the old one, prune it after the token lifetime) is
a later step; the table already has what it needs.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from gateway.models import SigningKey
from service_kit.db import Database

ALGORITHM = "RS256"
RSA_KEY_BITS = 2048

log = structlog.get_logger("gateway.keys")


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


async def load_key_ring(db: Database) -> KeyRing:
    """The keys in the database; generates and stores the first one when none is active."""
    rows = await _all_keys(db)
    if not any(row.active for row in rows):
        await _add_key(db, seq=max((row.seq for row in rows), default=0) + 1)
        rows = await _all_keys(db)
    active = [row for row in rows if row.active]
    signing = RSAKey.import_key(json.loads(max(active, key=lambda r: r.seq).jwk))
    public = KeySet.import_key_set({"keys": [_public_half(row.jwk) for row in rows]})
    return KeyRing(signing=KeySet([signing]), public=public, jwks=dict(public.as_dict(private=False)))


async def _all_keys(db: Database) -> list[SigningKey]:
    async with db.transaction() as session:
        return list((await session.execute(select(SigningKey).order_by(SigningKey.seq))).scalars())


async def _add_key(db: Database, *, seq: int) -> None:
    # RSA key generation takes tens of milliseconds: keep it off the event loop.
    key = await asyncio.to_thread(_generate_key)
    row = SigningKey(
        kid=str(key.kid), seq=seq, jwk=json.dumps(key.as_dict(private=True)), created_at=datetime.now(UTC), active=True
    )
    try:
        async with db.transaction() as session:
            if await session.scalar(select(func.count()).where(SigningKey.seq == seq)):
                return
            session.add(row)
    except IntegrityError:
        return  # another worker added key number ``seq`` first; we use theirs
    log.info("signing_key_created", kid=row.kid, seq=seq)


def _generate_key() -> RSAKey:
    # kid: the key's RFC 7638 thumbprint.
    return RSAKey.generate_key(RSA_KEY_BITS, {"use": "sig", "alg": ALGORITHM}, private=True, auto_kid=True)


def _public_half(private_jwk: str) -> dict[str, Any]:
    return dict(RSAKey.import_key(json.loads(private_jwk)).as_dict(private=False))


__all__ = ["ALGORITHM", "KeyRing", "load_key_ring"]
