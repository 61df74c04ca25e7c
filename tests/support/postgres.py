"""A throwaway PostgreSQL server for tests, from Debian's ``postgresql`` package.

``PostgresServer`` runs ``initdb`` into a temporary folder and starts the server on a free port of
the loopback address (fsync off: the cluster dies with the test run), ``stop`` removes it. The
``postgres_server`` fixture (session scope, one server per xdist worker) and ``postgres_url`` (a
new empty database per test, as a SQLAlchemy asyncpg URL) are what tests use. Without the
binaries the fixtures skip locally with the reason, and fail in CI, where ``.ci/run`` installs them.

PostgreSQL refuses to run as root: when the tests run as root (CI containers do), the cluster is
owned by, and the server runs as, the ``postgres`` user the Debian package creates.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.support.prerequisites import locate

SERVER_USER = "postgres"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One cluster in a temporary folder; ``url(database)`` for SQLAlchemy, ``execute`` for admin SQL."""

    def __init__(self) -> None:
        initdb, pg_ctl, psql = locate("initdb"), locate("pg_ctl"), locate("psql")
        if not (initdb and pg_ctl and psql):
            raise FileNotFoundError("PostgreSQL's initdb, pg_ctl and psql (Debian package: postgresql)")
        self._initdb, self._pg_ctl, self._psql = initdb, pg_ctl, psql
        self.port = _free_port()
        self.user = "interchange"
        self._root = Path(tempfile.mkdtemp(prefix="interchange-pg-"))
        self.data = self._root / "data"
        self.log = self._root / "server.log"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam(SERVER_USER)
            os.chown(self._root, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", SERVER_USER, "--"]

    def start(self) -> PostgresServer:
        self._run([self._initdb, "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8", "--no-sync"])
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self._root} -c fsync=off -c full_page_writes=off"
        self._run([self._pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "120", "start"])
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run([self._pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"], check=False)
        shutil.rmtree(self._root, ignore_errors=True)

    def execute(self, sql: str, *, database: str = "postgres") -> str:
        """Admin SQL through psql (CREATE DATABASE cannot run in a transaction block)."""
        out = self._run(
            [self._psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", database, "-Atqc", sql]
        )
        return out.strip()

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.execute(f'CREATE DATABASE "{name}"')
        return name

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run(self, argv: list[str], *, check: bool = True) -> str:
        done = subprocess.run([*self._as_user, *argv], capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{Path(argv[0]).name} failed ({done.returncode}): {done.stderr.strip()}\n{log}")
        return done.stdout


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = PostgresServer()
    except (FileNotFoundError, KeyError) as exc:  # KeyError: no postgres user to run it as
        skip_or_fail(f"PostgreSQL is not installed ({exc}): sudo apt-get install -y postgresql")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A new, empty database on the session's server, dropped after the test."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
