from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.clients import (
    create_client,
    disable_client,
    enable_client,
    ensure_client,
    find_clients,
    list_clients,
    rotate_secret,
)
from gateway.models import Base, OAuthClient
from service_kit.db import Database
from service_kit.errors import Conflict, NotFound, UnprocessableContent

PARTNER = {
    "kind": "partner",
    "partner_id": "acme-market",
    "channel": "marketplace",
    "scopes": ["marketplace:orders.read"],
}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    # As the CLI opens it: the gateway's database URL and the gateway's tables.
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}", metadata=[Base.metadata])
    await database.create_schema()
    yield database
    await database.dispose()


async def _secret_works(db: Database, client_id: str, secret: str) -> bool:
    async with db.transaction() as session:
        stored = (await find_clients(session, [client_id]))[client_id]
    return stored.enabled and stored.secret_matches(secret)


async def test_a_new_client_gets_a_random_secret_that_is_stored_only_as_a_hash(db: Database) -> None:
    client_id, secret = await create_client(db, **PARTNER)

    assert client_id.startswith("acme-market-")
    assert len(secret) >= 43  # 32 random bytes, URL-safe base64
    async with db.transaction() as session:
        row = (await session.execute(select(OAuthClient))).scalar_one()
    assert secret not in row.secret_hash
    assert row.secret_hash.startswith("sha256:")
    assert await _secret_works(db, client_id, secret)
    assert not await _secret_works(db, client_id, secret + "x")


async def test_clients_are_listed_without_secrets(db: Database) -> None:
    await create_client(db, client_id="acme-market", **PARTNER)
    await create_client(db, client_id="svc-orders", kind="service", scopes=["erp:read", "erp:read", "wms:write"])

    clients = await list_clients(db)

    assert [c.client_id for c in clients] == ["acme-market", "svc-orders"]
    acme, svc = clients
    assert (acme.kind, acme.partner_id, acme.channel, acme.tier, acme.enabled) == (
        "partner",
        "acme-market",
        "marketplace",
        "standard",
        True,
    )
    assert svc.scope_list == ["erp:read", "wms:write"]
    assert not hasattr(svc, "secret_hash")


async def test_ensure_client_creates_once_and_then_leaves_the_client_alone(db: Database) -> None:
    first_secret = "s" * 43
    spec = {"client_id": "acme-market", "tier": "gold", **PARTNER}

    created = await ensure_client(db, secret=first_secret, **spec)
    again = await ensure_client(db, secret="t" * 43, **(spec | {"scopes": ["marketplace:orders.write"]}))

    assert (created, again) == (True, False)
    [client] = await list_clients(db)
    assert client.scope_list == ["marketplace:orders.read"]
    assert await _secret_works(db, "acme-market", first_secret)


async def test_rotating_a_secret_retires_the_old_one(db: Database) -> None:
    client_id, old = await create_client(db, **PARTNER)

    new = await rotate_secret(db, client_id)

    assert new != old
    assert await _secret_works(db, client_id, new)
    assert not await _secret_works(db, client_id, old)


async def test_disable_and_enable(db: Database) -> None:
    client_id, secret = await create_client(db, **PARTNER)

    await disable_client(db, client_id)
    disabled = await _secret_works(db, client_id, secret)
    await enable_client(db, client_id)

    assert not disabled
    assert await _secret_works(db, client_id, secret)


async def test_unknown_clients_and_duplicates_are_refused(db: Database) -> None:
    await create_client(db, client_id="acme-market", **PARTNER)

    with pytest.raises(Conflict):
        await create_client(db, client_id="acme-market", **PARTNER)
    with pytest.raises(NotFound):
        await disable_client(db, "nobody")
    with pytest.raises(NotFound):
        await rotate_secret(db, "nobody")


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"kind": "partner", "scopes": ["marketplace:orders.read"]}, "#/partner_id"),
        (
            {"kind": "service", "partner_id": "acme", "channel": "marketplace", "scopes": ["orders:read"]},
            "#/partner_id",
        ),
        ({"kind": "robot", "scopes": ["orders:read"]}, "#/kind"),
        ({"kind": "service", "scopes": []}, "#/scopes"),
        ({"kind": "service", "scopes": ["orders:read erp:read"]}, "#/scopes"),
        ({"kind": "service", "scopes": ["orders:read"], "client_id": "a:b"}, "#/client_id"),
        ({"kind": "service", "scopes": ["orders:read"], "tier": "Gold Tier"}, "#/tier"),
    ],
)
async def test_invalid_registrations_name_the_field(db: Database, fields: dict[str, object], pointer: str) -> None:
    with pytest.raises(UnprocessableContent) as caught:
        await create_client(db, **fields)  # type: ignore[arg-type]

    assert pointer in {e["pointer"] for e in caught.value.errors or []}
    assert await list_clients(db) == []


async def test_ensure_client_refuses_a_short_secret(db: Database) -> None:
    with pytest.raises(UnprocessableContent):
        await ensure_client(
            db,
            client_id="svc-orders",
            secret="password",
            kind="service",
            partner_id=None,
            channel=None,
            scopes=["erp:read"],
            tier="internal",
        )
