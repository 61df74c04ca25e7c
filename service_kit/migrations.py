"""Schema migrations with alembic: one history per service, applied when the service starts.

A service keeps its revisions in ``<package>/migrations/`` and declares there its
``MigrationHistory``: that folder, its models' metadata and the kit tables it uses. The rest is
shared: the alembic environment and revision template (``service_kit/migration_env/``, whose
``env.py`` calls ``run_environment``) and the configuration, built here in code (no ``alembic.ini``).
Revisions render in batch mode, so a later ALTER works on SQLite too (alembic copies the table).

``upgrade`` brings a database to the head revision in one transaction: on PostgreSQL under an
advisory lock, so replicas starting together migrate once; on SQLite inside ``BEGIN IMMEDIATE``
(SQLite's DDL is transactional once a transaction is open) with foreign keys off, as batch
mode needs, and checked before the commit. A failed migration leaves the database as it was.

A database made by the release before migrations (tables from ``create_all`` and hand ALTERs, no
``alembic_version`` table) is adopted: when its tables and columns are those of the history's
``previous_release`` revision, it is stamped there, rows untouched, then upgraded; otherwise
nothing is changed and the error names the differences.
"""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, MetaData, create_engine, inspect, text

from service_kit.db import Database, KitBase

if TYPE_CHECKING:
    from alembic.config import Config

# alembic is imported where it is used, not here: its import is ~0.12 s of CPU (it loads every
# SQLAlchemy dialect), which a service restarting on a database already at its head never pays
# (``upgrade_database``'s fast path). Every service imports this module through the app factory.

ENVIRONMENT = Path(__file__).parent / "migration_env"
VERSION_TABLE = "alembic_version"


class MigrationError(RuntimeError):
    """A database this history cannot bring to its head (the message says why and what to do)."""


def _kit_tables() -> dict[str, Any]:
    # The kit's tables are declared where they are used; importing those modules fills KitBase.
    import service_kit.events.consumer
    import service_kit.events.outbox
    import service_kit.idempotency
    import service_kit.revocation  # noqa: F401

    return dict(KitBase.metadata.tables)


@dataclass(frozen=True)
class MigrationHistory:
    """One service's migrations: ``versions`` holds its revisions; its tables are its models'
    ``metadata`` and the kit tables it uses (``kit_tables``, by name: which kit tables exist in a
    process depends on what it imported, so each history names its own). ``previous_release``:
    the revision a database from the release before migrations is stamped at; ``retired_tables``:
    tables of older releases that adopting such a database drops (their rows were a record only)."""

    service: str
    versions: Path
    metadata: tuple[MetaData, ...]
    kit_tables: tuple[str, ...] = ()
    previous_release: str = "0001"
    retired_tables: tuple[str, ...] = ()

    @cached_property
    def target_metadata(self) -> MetaData:
        """The service's tables as its models declare them: what the head revision must create."""
        kit = _kit_tables()
        unknown = sorted(set(self.kit_tables) - set(kit))
        if unknown:
            raise MigrationError(f"{self.service}: no kit table named {', '.join(unknown)}")
        target = MetaData()
        for name in self.kit_tables:
            kit[name].to_metadata(target)
        for metadata in self.metadata:
            for table in metadata.tables.values():
                table.to_metadata(target)
        return target

    def config(self, connection: Connection | None = None) -> Config:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(ENVIRONMENT))
        config.set_main_option("version_locations", str(self.versions))
        config.set_main_option("path_separator", "os")
        config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
        # A new revision is written in the project's style (``ruff`` is a dev dependency).
        config.set_section_option("post_write_hooks", "hooks", "ruff_fix, ruff_format")
        config.set_section_option("post_write_hooks", "ruff_fix.type", "module")
        config.set_section_option("post_write_hooks", "ruff_fix.module", "ruff")
        config.set_section_option("post_write_hooks", "ruff_fix.options", "check --fix-only REVISION_SCRIPT_FILENAME")
        config.set_section_option("post_write_hooks", "ruff_format.type", "module")
        config.set_section_option("post_write_hooks", "ruff_format.module", "ruff")
        config.set_section_option("post_write_hooks", "ruff_format.options", "format REVISION_SCRIPT_FILENAME")
        config.attributes["history"] = self
        config.attributes["connection"] = connection
        return config

    def head(self) -> str | None:
        """The head revision, as alembic reads the history."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.config()).get_current_head()

    @cached_property
    def latest_revision(self) -> str | None:
        """The head as the file names say, without loading alembic: revisions are numbered
        (``NNNN_slug.py``, ``new_revision`` numbers them) and each revises the one before, so the
        highest number is the head. None when two files share a number (parallel revisions: alembic
        decides, and refuses two heads). A test holds this equal to ``head()`` for every service."""
        numbers = [path.name.split("_", 1)[0] for path in self.versions.glob("[0-9][0-9][0-9][0-9]_*.py")]
        if not numbers or len(set(numbers)) != len(numbers):
            return None
        return max(numbers)


def run_environment() -> None:
    """The body of the ``env.py`` every history shares: migrate the connection the caller passed in."""
    from alembic import context

    history: MigrationHistory = context.config.attributes["history"]
    connection: Connection | None = context.config.attributes["connection"]
    if connection is None or context.is_offline_mode():
        raise MigrationError("migrations run on a connection: use service_kit.migrations.upgrade")
    context.configure(
        connection=connection,
        target_metadata=history.target_metadata,
        render_as_batch=True,
        compare_type=True,
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


@dataclass(frozen=True)
class Upgrade:
    """What ``upgrade`` did: the revision before (None: empty or pre-migrations) and after."""

    service: str
    before: str | None
    after: str | None
    adopted: bool = False

    @property
    def changed(self) -> bool:
        return self.before != self.after


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


def differences(*, connection: Connection, history: MigrationHistory) -> list[Any]:
    """What alembic's autogenerate would change to make the database match the models (``[]``:
    nothing)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_as_batch": True, "version_table": VERSION_TABLE}
    )
    return list(compare_metadata(context, history.target_metadata))


def upgrade(*, connection: Connection, history: MigrationHistory, revision: str = "head") -> Upgrade:
    """Brings the database on ``connection`` to ``revision`` and commits (a connection that is
    not in a transaction: this runs its own)."""
    from alembic import command

    with _migration_transaction(connection, history):
        before = current_revision(connection)
        adopted = before is None and _adopt_previous_release(connection, history)
        command.upgrade(history.config(connection), revision)
        return Upgrade(history.service, before, current_revision(connection), adopted)


async def upgrade_database(*, db: Database, history: MigrationHistory) -> Upgrade:
    """``upgrade`` on a service's async engine (alembic is synchronous: it runs in ``run_sync``).
    A database already at the head is left as it is without loading alembic."""
    async with db.engine.connect() as conn:
        stamped = await conn.run_sync(_stamped_revision)
        await conn.rollback()
        if stamped is not None and stamped == history.latest_revision:
            return Upgrade(history.service, stamped, stamped)
        return await conn.run_sync(lambda sync_conn: upgrade(connection=sync_conn, history=history))


def _stamped_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    versions = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()  # noqa: S608
    return versions[0] if len(versions) == 1 else None


def new_revision(*, history: MigrationHistory, message: str) -> Path:
    """Autogenerates the next revision of ``history`` into its folder (numbered, ruff-formatted),
    from the difference between the models and a scratch SQLite database migrated to the head;
    read it before committing it. Nothing to add is an error."""
    from alembic import command
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(history.config())
    number = len(list(script.walk_revisions())) + 1
    scratch = tempfile.TemporaryDirectory(prefix="interchange-revision-")
    engine = create_engine(f"sqlite:///{Path(scratch.name) / 'head.db'}")
    try:
        with engine.connect() as connection:
            upgrade(connection=connection, history=history)
            if not differences(connection=connection, history=history):
                raise MigrationError(f"the {history.service} models match the head revision: nothing to add")
        with engine.begin() as connection:
            made = command.revision(
                history.config(connection), message=message, autogenerate=True, rev_id=f"{number:04d}"
            )
    finally:
        engine.dispose()
        scratch.cleanup()
    scripts = made if isinstance(made, list) else [made]
    return Path(scripts[0].path) if scripts and scripts[0] is not None else history.versions


@contextmanager
def _migration_transaction(connection: Connection, history: MigrationHistory) -> Iterator[None]:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode copies a table and drops the old one: with foreign keys on, that drop would
        # cascade or fail. The pragma is ignored inside a transaction, so it is set before BEGIN.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        key = zlib.crc32(f"interchange-migrations:{history.service}".encode())
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    try:
        yield
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise MigrationError(f"{history.service}: the migration broke foreign keys: {broken[:5]}")
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


def _shape(connection: Connection, *, skip: Sequence[str] = ()) -> dict[str, set[str]]:
    inspector = inspect(connection)
    return {
        table: {column["name"] for column in inspector.get_columns(table)}
        for table in inspector.get_table_names()
        if table not in skip
    }


def _previous_release_shape(history: MigrationHistory) -> dict[str, set[str]]:
    """The tables and columns of ``previous_release``, read from a scratch in-memory SQLite
    database migrated to it (names only, so it holds for any database)."""
    from alembic import command

    engine = create_engine("sqlite://")
    try:
        with engine.connect() as connection:
            with _migration_transaction(connection, history):
                command.upgrade(history.config(connection), history.previous_release)
            return _shape(connection, skip=(VERSION_TABLE,))
    finally:
        engine.dispose()


def _adopt_previous_release(connection: Connection, history: MigrationHistory) -> bool:
    """Stamps a database made before migrations at ``previous_release`` when its tables and
    columns are that revision's; an empty one is left to the migrations. True when stamped.

    The kit's tables are the exception: that release made the ones its process had imported
    (``create_all`` of ``KitBase``), so a kit table of another service's history is left where it
    is, and one of this history that is missing is created, when the kit still declares it with
    that revision's columns."""
    from alembic import command

    present = _shape(connection)
    if not present:
        return False
    for name in sorted(set(history.retired_tables) & set(present)):
        connection.execute(text(f"DROP TABLE {connection.dialect.identifier_preparer.quote(name)}"))
        del present[name]
    if not present:  # nothing but retired tables: an empty database to the migrations
        return False
    expected = _previous_release_shape(history)
    kit = set(_kit_tables())
    extra_kit = (set(present) - set(expected)) & kit
    missing_kit = [
        history.target_metadata.tables[name]
        for name in sorted((set(expected) - set(present)) & set(history.kit_tables))
        if {column.name for column in history.target_metadata.tables[name].columns} == expected[name]
    ]
    present = {name: columns for name, columns in present.items() if name not in extra_kit}
    missing = set(expected) - set(present) - {table.name for table in missing_kit}
    problems = [f"missing table {name}" for name in sorted(missing)]
    problems += [f"unknown table {name}" for name in sorted(set(present) - set(expected))]
    for name in sorted(set(expected) & set(present)):
        problems += [f"missing column {name}.{column}" for column in sorted(expected[name] - present[name])]
        problems += [f"unknown column {name}.{column}" for column in sorted(present[name] - expected[name])]
    if problems:
        raise MigrationError(
            f"the {history.service} database has no migration history and is not the release before "
            f"migrations ({'; '.join(problems[:10])}): start it once with that release, or migrate it by hand"
        )
    for table in missing_kit:
        table.create(connection)
    command.stamp(history.config(connection), history.previous_release)
    return True


__all__ = [
    "MigrationError",
    "MigrationHistory",
    "Upgrade",
    "current_revision",
    "differences",
    "new_revision",
    "run_environment",
    "upgrade",
    "upgrade_database",
]
