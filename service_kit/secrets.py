"""Secrets at rest: values a service must read back (the gateway's private signing keys, webhook
signing secrets) are stored encrypted, never in clear, with ``cryptography``'s Fernet
(AES-128-CBC + HMAC-SHA256) through ``MultiFernet``, which gives rotation for free: the first key
encrypts, every key decrypts, and ``reseal`` re-encrypts a value under the first one.

Where the keys come from (``SecretBox.from_settings``):

- ``INTERCHANGE_SECRETS_KEYS``: Fernet keys, comma-separated, newest first (a deployment that
  keeps its keys in a secret manager); or else
- a key file, ``INTERCHANGE_SECRETS_KEY_FILE`` or ``<data_dir>/secrets.key``: one key per line,
  newest first, owner-only (0600). When it does not exist, the first use creates it with a fresh
  key. The file is read again whenever it changes, so ``interchange secrets rotate`` (which puts a
  new key first) reaches running services without a restart.

A stored value is ``fernet:<token>``. A value without the prefix was written before encryption
existed: it still reads (``open``) and is sealed when its service starts (``is_sealed`` says which).

Nothing is read or created until the first ``seal`` or ``open``: building a box (the app factory,
the contract exporter) touches no file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from service_kit.files import write_private_file

PREFIX = "fernet:"
KEY_FILE_NAME = "secrets.key"


class SecretsUnavailable(Exception):
    """A stored secret cannot be decrypted with any key we have (a key was removed too early, or
    the key file is not the one the value was sealed with)."""


class SecretBox:
    """Seals and opens secrets at rest with the newest of a list of Fernet keys."""

    def __init__(self, *, keys: Sequence[str] = (), key_file: Path | None = None) -> None:
        """``keys`` (newest first) when given; otherwise the keys in ``key_file``, created with one
        fresh key on first use."""
        if not keys and key_file is None:
            raise ValueError("SecretBox needs keys or a key file")
        self._keys = tuple(k.strip() for k in keys if k.strip())
        self._key_file = key_file
        self._newest: Fernet | None = None
        self._fernet: MultiFernet | None = self._load(self._keys) if self._keys else None
        self._file_stamp: tuple[int, int, int] | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> SecretBox:
        """From ``secrets_keys`` (comma-separated, newest first) or else ``secrets_key_file``
        (default ``<data_dir>/secrets.key``)."""
        configured = getattr(settings, "secrets_keys", None)
        raw = configured.get_secret_value() if isinstance(configured, SecretStr) else str(configured or "")
        keys = [k for k in raw.split(",") if k.strip()]
        if keys:
            return cls(keys=keys)
        key_file = getattr(settings, "secrets_key_file", None)
        return cls(key_file=Path(key_file) if key_file else Path(getattr(settings, "data_dir", "var")) / KEY_FILE_NAME)

    @property
    def key_file(self) -> Path | None:
        """The key file, when the keys come from one (``None`` with ``INTERCHANGE_SECRETS_KEYS``)."""
        return None if self._keys else self._key_file

    def seal(self, plain: str) -> str:
        """``plain`` encrypted under the newest key, as stored: ``fernet:<token>``."""
        return PREFIX + self._multi().encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, stored: str) -> str:
        """The clear value of a stored secret; a value stored before encryption comes back as is."""
        if not is_sealed(stored):
            return stored
        token = stored[len(PREFIX) :].encode("ascii")
        try:
            return self._multi().decrypt(token).decode("utf-8")
        except InvalidToken as exc:
            raise SecretsUnavailable("a stored secret cannot be decrypted with the configured keys") from exc

    def reseal(self, stored: str) -> str:
        """The stored value re-encrypted under the newest key (a clear one encrypted)."""
        if not is_sealed(stored):
            return self.seal(stored)
        try:
            return PREFIX + self._multi().rotate(stored[len(PREFIX) :].encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise SecretsUnavailable("a stored secret cannot be decrypted with the configured keys") from exc

    def opens_with_newest_only(self, stored: str) -> bool:
        """Whether the newest key alone decrypts ``stored`` (so older keys may be retired)."""
        if not is_sealed(stored):
            return False
        self._multi()
        assert self._newest is not None
        try:
            self._newest.decrypt(stored[len(PREFIX) :].encode("ascii"))
        except InvalidToken:
            return False
        return True

    def _multi(self) -> MultiFernet:
        if self._keys:
            assert self._fernet is not None
            return self._fernet
        assert self._key_file is not None
        stamp = _stamp(self._key_file)
        if stamp is None:
            create_key_file(self._key_file)
            stamp = _stamp(self._key_file)
        if self._fernet is None or stamp != self._file_stamp:
            self._fernet = self._load(read_key_file(self._key_file))
            self._file_stamp = stamp
        return self._fernet

    def _load(self, keys: Sequence[str]) -> MultiFernet:
        fernets = [Fernet(k) for k in keys]
        self._newest = fernets[0]
        return MultiFernet(fernets)


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def read_key_file(path: Path) -> list[str]:
    keys = [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    if not keys:
        raise SecretsUnavailable(f"{path} holds no key")
    return keys


def create_key_file(path: Path) -> None:
    """A key file with one fresh key, owner-only; when another process created it first, theirs
    stays (every service of the suite then uses the same keys)."""
    write_private_file(path, new_key() + "\n", replace=False)


def add_key(path: Path) -> str:
    """Put a fresh key first in the key file (created if missing); the older keys stay after it
    so that what they sealed still opens. Returns the new key."""
    key = new_key()
    older = read_key_file(path) if path.exists() else []
    write_private_file(path, "\n".join([key, *older]) + "\n", replace=True)
    return key


def retire_keys(path: Path) -> int:
    """Keep only the newest key in the key file; returns how many were removed."""
    keys = read_key_file(path)
    write_private_file(path, keys[0] + "\n", replace=True)
    return len(keys) - 1


def _stamp(path: Path) -> tuple[int, int, int] | None:
    # Rewrites go through a new file renamed over the old one: a new inode every time.
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


__all__ = [
    "KEY_FILE_NAME",
    "PREFIX",
    "SecretBox",
    "SecretsUnavailable",
    "add_key",
    "create_key_file",
    "is_sealed",
    "new_key",
    "read_key_file",
    "retire_keys",
]
