"""Issue 10 item 1 on the services: the gateway's private signing keys and the marketplace's
webhook secrets are not readable from their database files; rows an older version wrote in clear
are sealed at start-up and keep working; rotating the secrets key keeps issued tokens and webhook
signatures valid."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
from typer.testing import CliRunner

from interchange.cli import app as cli
from service_kit.http import RoutingTransport
from service_kit.secrets import SecretBox, read_key_file
from service_kit.webhooks import verify
from tests.unit.experience_apis.test_marketplace_feed import apply as apply_availability
from tests.unit.experience_apis.test_marketplace_feed import availability
from tests.unit.experience_apis.test_marketplace_webhooks import ACME, Channel, channel
from tests.unit.gateway.conftest import FakeService, gateway_settings, running_gateway


def raw_bytes(db: Path) -> bytes:
    """Everything on disk for one SQLite database: the file and its WAL."""
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())


async def rotate_secrets_key(data_dir: Path, *extra: str) -> None:
    """``interchange secrets rotate`` as an operator runs it (in a thread: it runs its own loop)."""
    args = ["secrets", "rotate", "--data-dir", str(data_dir), *extra]
    result = await asyncio.to_thread(CliRunner().invoke, cli, args)
    assert result.exit_code == 0, result.output


async def test_the_gateway_database_holds_no_private_key_and_rotation_keeps_tokens_valid(
    tmp_path: Path, contracts_dir: Path
) -> None:
    service = FakeService()
    transport = RoutingTransport({"marketplace.test": httpx.ASGITransport(app=service)})
    settings = gateway_settings(tmp_path, contracts_dir)
    async with running_gateway(settings, transport) as gw:
        client_id, secret = await gw.register_partner("acme-market")
        token = await gw.token(client_id, secret)
        private = gw.app.state.keys.ring.signing.keys[0].as_dict(private=True)
        on_disk = raw_bytes(tmp_path / "gateway.db")
    assert private["d"].encode() not in on_disk and private["p"].encode() not in on_disk

    await rotate_secrets_key(tmp_path, "--retire-old")
    assert len(read_key_file(tmp_path / "secrets.key")) == 1

    async with running_gateway(settings, transport) as gw:
        resp = await gw.client.get("/marketplace/v1/orders", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200
        assert gw.app.state.keys.ring.signing.keys[0].as_dict(private=True)["d"] == private["d"]


async def test_a_signing_key_stored_in_clear_by_an_older_version_is_sealed_at_start(
    tmp_path: Path, contracts_dir: Path
) -> None:
    service = FakeService()
    transport = RoutingTransport({"marketplace.test": httpx.ASGITransport(app=service)})
    settings = gateway_settings(tmp_path, contracts_dir)
    async with running_gateway(settings, transport) as gw:
        client_id, secret = await gw.register_partner("acme-market")
        token = await gw.token(client_id, secret)
    box = SecretBox(key_file=tmp_path / "secrets.key")
    with sqlite3.connect(tmp_path / "gateway.db") as conn:  # what an older version stored
        [(kid, sealed)] = conn.execute("SELECT kid, jwk FROM signing_keys").fetchall()
        conn.execute("UPDATE signing_keys SET jwk = ? WHERE kid = ?", (box.open(sealed), kid))

    async with running_gateway(settings, transport) as gw:
        resp = await gw.client.get("/marketplace/v1/orders", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200
    with sqlite3.connect(tmp_path / "gateway.db") as conn:
        [(stored,)] = conn.execute("SELECT jwk FROM signing_keys").fetchall()
    assert stored.startswith("fernet:") and '"d"' not in stored


async def test_webhook_secrets_are_sealed_and_rotation_keeps_signatures_valid(channel: Channel, tmp_path: Path) -> None:
    created = await channel.subscribe(ACME)
    secret = created["secret"]
    key = secret.removeprefix("whsec_").encode()
    assert key not in raw_bytes(tmp_path / "marketplace.db")

    await rotate_secrets_key(tmp_path, "--retire-old")  # the running service picks the new key file up
    assert key not in raw_bytes(tmp_path / "marketplace.db")

    await apply_availability(channel, availability("WIDGET-RED", "6"))
    await channel.drain()  # sent by the delivery worker or here, once either way
    [request] = channel.receiver.requests
    verify(secret=secret, body=request.content, headers=dict(request.headers))


__all__ = ["channel"]  # the marketplace webhooks' fixture, used here as is


async def test_rotating_where_a_service_never_ran_creates_no_database(tmp_path: Path) -> None:
    from interchange.commands.secrets import rotate_secrets_key as rotate

    rotation = await rotate(data_dir=tmp_path, retire=True)
    assert rotation.resealed == {} and rotation.retired == 0  # the new key is the only one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secrets.key"]
