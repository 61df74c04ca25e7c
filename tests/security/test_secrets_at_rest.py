"""Secrets at rest (service_kit.secrets, service_kit.files): what is sealed cannot be read from
the file, rotation keeps old values readable, and key files are owner-only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from service_kit.files import private_sqlite_file, write_private_file
from service_kit.secrets import SecretBox, SecretsUnavailable, add_key, is_sealed, new_key, retire_keys
from service_kit.settings import ServiceSettings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_sealed_value_hides_the_secret_and_opens_again(tmp_path: Path) -> None:
    box = SecretBox(key_file=tmp_path / "secrets.key")
    sealed = box.seal("whsec_top-secret")
    assert is_sealed(sealed)
    assert "top-secret" not in sealed
    assert box.open(sealed) == "whsec_top-secret"


def test_the_key_file_is_created_owner_only_on_first_use_and_not_before(tmp_path: Path) -> None:
    box = SecretBox.from_settings(ServiceSettings.load("gateway", data_dir=tmp_path / "var"))
    key_file = tmp_path / "var" / "secrets.key"
    assert not key_file.exists()  # building a box touches nothing
    box.seal("x")
    assert mode(key_file) == 0o600
    assert mode(key_file.parent) == 0o700


def test_a_value_stored_before_encryption_still_reads(tmp_path: Path) -> None:
    box = SecretBox(key_file=tmp_path / "secrets.key")
    assert box.open("whsec_legacy") == "whsec_legacy"
    assert box.open(box.reseal("whsec_legacy")) == "whsec_legacy"


def test_rotation_new_key_first_old_values_still_open_then_reseal_and_retire(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets.key"
    running = SecretBox(key_file=key_file)  # a running service
    old = running.seal("signing-key")
    add_key(key_file)
    # The running service sees the new key without a restart, and still opens the old value.
    assert running.open(old) == "signing-key"
    assert not running.opens_with_newest_only(old)
    new = running.reseal(old)
    assert running.opens_with_newest_only(new)
    assert retire_keys(key_file) == 1
    assert running.open(new) == "signing-key"
    with pytest.raises(SecretsUnavailable):
        running.open(old)


def test_keys_from_settings_newest_first(tmp_path: Path) -> None:
    old_key, new = new_key(), new_key()
    old_box = SecretBox(keys=[old_key])
    sealed = old_box.seal("s")
    settings = ServiceSettings.load("marketplace", data_dir=tmp_path, secrets_keys=f"{new},{old_key}")
    box = SecretBox.from_settings(settings)
    assert box.key_file is None
    assert box.open(sealed) == "s"
    assert SecretBox(keys=[new]).open(box.seal("t")) == "t"
    assert not (tmp_path / "secrets.key").exists()
    assert new not in repr(settings)


def test_two_processes_creating_the_key_file_agree(tmp_path: Path) -> None:
    path = tmp_path / "secrets.key"
    assert write_private_file(path, "first\n", replace=False)
    assert not write_private_file(path, "second\n", replace=False)
    assert path.read_text() == "first\n"
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.key"]  # no temporary file left


def test_sqlite_files_are_owner_only_even_when_created_world_readable(tmp_path: Path) -> None:
    db = tmp_path / "data" / "service.db"
    private_sqlite_file(db)
    assert mode(db) == 0o600
    wal = db.with_name("service.db-wal")
    wal.write_bytes(b"")
    wal.chmod(0o644)
    db.chmod(0o644)
    private_sqlite_file(db)
    assert mode(db) == 0o600
    assert mode(wal) == 0o600


def test_an_older_data_dir_is_tightened_but_nothing_else_in_it(tmp_path: Path) -> None:
    from service_kit.files import tighten_tree

    (tmp_path / "logs").mkdir()
    files = [tmp_path / "gateway.db", tmp_path / "gateway.db-wal", tmp_path / "suite.json", tmp_path / "logs" / "a.log"]
    for f in files:
        f.write_text("x")
        f.chmod(0o644)
    other = tmp_path / "notes.txt"
    other.write_text("x")
    other.chmod(0o644)
    tmp_path.chmod(0o755)
    tighten_tree(tmp_path)
    assert {mode(f) for f in files} == {0o600}
    assert mode(tmp_path) == mode(tmp_path / "logs") == 0o700
    assert mode(other) == 0o644


async def test_a_service_database_and_its_wal_and_shm_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    import os

    from sqlalchemy import text

    from service_kit.db import Database

    previous = os.umask(0o022)  # a service started by hand, not by the launcher
    try:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'orders.db'}")
        await db.create_schema()
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
            await session.execute(text("INSERT INTO t VALUES (1)"))
        modes = {f.name: mode(f) for f in (tmp_path / "data").iterdir()}  # while open: WAL and shm exist
        await db.dispose()
    finally:
        os.umask(previous)
    assert modes == {"orders.db": 0o600, "orders.db-shm": 0o600, "orders.db-wal": 0o600}
    assert mode(tmp_path / "data") == 0o700
