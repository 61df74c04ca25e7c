"""Every service's alembic history (``service_kit.migrations``), on SQLite and on PostgreSQL:

- an empty database goes to the head, and then alembic's autogenerate finds nothing between it and
  the models (a model changed without a revision fails here: add one with ``interchange db revision``);
- a database made by the release before migrations (``create_all``, no ``alembic_version``) is
  stamped and upgraded with every row kept; one that is not that release is refused, unchanged;
- a migration that fails leaves the database as it was (one transaction);
- the start-up path (``upgrade_database``) leaves a database at its head alone.

PostgreSQL runs on a throwaway server (tests/support/postgres.py); without it those cases skip
locally and fail in CI.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection, MetaData, Table, func, inspect, select, text

from interchange.services import SERVICES
from service_kit.db import Database
from service_kit.migrations import (
    VERSION_TABLE,
    MigrationError,
    MigrationHistory,
    _migration_transaction,
    _previous_release_shape,
    current_revision,
    differences,
    new_revision,
    upgrade,
    upgrade_database,
)

pytestmark = pytest.mark.xdist_group("postgres")
T = TypeVar("T")
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
HISTORIES = {s.name: importlib.import_module(f"{s.package}.migrations").HISTORY for s in SERVICES if s.available()}


@pytest.fixture(params=["sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = Database(url)
    yield database
    await database.dispose()


async def on(db: Database, action: Callable[[Connection], T]) -> T:
    """Runs ``action`` on a plain (sync) connection, as alembic needs, and closes it."""
    async with db.engine.connect() as conn:
        return await conn.run_sync(action)


def tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


@pytest.mark.parametrize("service", sorted(HISTORIES))
async def test_an_empty_database_goes_to_the_head_and_matches_the_models(db: Database, service: str) -> None:
    history = HISTORIES[service]

    done = await on(db, lambda c: upgrade(connection=c, history=history))
    again = await on(db, lambda c: upgrade(connection=c, history=history))

    assert (done.before, done.after, done.adopted) == (None, history.head(), False)
    assert not again.changed
    assert await on(db, lambda c: differences(connection=c, history=history)) == []
    assert await on(db, tables) == set(history.target_metadata.tables) | {VERSION_TABLE}


@pytest.mark.parametrize("service", sorted(HISTORIES))
def test_the_head_read_from_file_names_is_alembics(service: str) -> None:
    """``upgrade_database``'s fast path trusts the file names; they must say what alembic says."""
    history = HISTORIES[service]
    assert history.latest_revision == history.head() is not None


def a_row(table: sa.Table) -> dict[str, Any]:
    """A row every column of ``table`` accepts. The same value for every column of a type, so a
    foreign key finds its parent row (inserted before it, one row a table)."""
    values: list[tuple[type[Any], Any]] = [
        (sa.Boolean, True),
        (sa.Integer, 1),
        (sa.Float, 1.5),
        (sa.DateTime, NOW),
        (sa.JSON, {"kept": True}),
        (sa.String, "1"),  # String and Text (Text is a String); "1" also fits every length
        (sa.LargeBinary, b"1"),
    ]
    row = {}
    for column in table.columns:
        row[column.name] = next(value for kind, value in values if isinstance(column.type, kind))
    return row


def made_by_the_previous_release(history: MigrationHistory) -> Callable[[Connection], None]:
    """What the release before migrations did at start: ``create_all`` of its models and kit
    tables (the metadata ``0001`` was generated from), then the service wrote rows."""

    def make(connection: Connection) -> None:
        made = previous_release_tables(history)
        history.target_metadata.create_all(connection, tables=made)
        had = previous_release_indexes(history)
        for index in [index for table in made for index in table.indexes if index.name not in had]:
            index.drop(connection)  # a later revision's index (orders' 0002) was not that release's
        for table in made:
            connection.execute(table.insert().values(**a_row(table)))
        connection.commit()

    return make


def previous_release_tables(history: MigrationHistory) -> list[Table]:
    """The models' tables that release had (a later revision's new tables were not made by it)."""
    shape = _previous_release_shape(history)
    return [t for t in history.target_metadata.sorted_tables if t.name in shape]


def previous_release_indexes(history: MigrationHistory) -> set[str]:
    """The names of the indexes ``previous_release`` had (a scratch SQLite database migrated to it)."""
    from alembic import command

    engine = sa.create_engine("sqlite://")
    try:
        with engine.connect() as connection:
            with _migration_transaction(connection, history):
                command.upgrade(history.config(connection), history.previous_release)
            found = inspect(connection)
            return {str(ix["name"]) for name in found.get_table_names() for ix in found.get_indexes(name)}
    finally:
        engine.dispose()


def counts(history: MigrationHistory) -> Callable[[Connection], dict[str, int]]:
    def count(connection: Connection) -> dict[str, int]:
        return {
            t.name: connection.execute(select(func.count()).select_from(t)).scalar_one()
            for t in previous_release_tables(history)
        }

    return count


@pytest.mark.parametrize("service", sorted(HISTORIES))
async def test_a_database_of_the_previous_release_is_adopted_with_its_rows(db: Database, service: str) -> None:
    history = HISTORIES[service]
    await on(db, made_by_the_previous_release(history))

    done = await on(db, lambda c: upgrade(connection=c, history=history))

    assert (done.before, done.after, done.adopted) == (None, history.head(), True)
    assert set((await on(db, counts(history))).values()) == {1}  # every table kept its row
    assert await on(db, lambda c: differences(connection=c, history=history)) == []


async def test_the_kit_tables_that_release_made_as_its_process_imported_them_are_reconciled(db: Database) -> None:
    """``create_all`` of ``KitBase`` made the kit tables the process had imported: an ERP database
    may hold the idempotency keys of another service's history and lack a kit table of its own."""
    history = HISTORIES["erp"]
    await on(db, made_by_the_previous_release(history))
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP TABLE processed_events"))
        await conn.run_sync(lambda c: HISTORIES["orders"].target_metadata.tables["idempotency_keys"].create(c))

    done = await on(db, lambda c: upgrade(connection=c, history=history))

    assert done.adopted
    assert {"processed_events", "idempotency_keys"} <= await on(db, tables)  # made; left where it was
    assert (await on(db, counts(history)))["revoked_clients"] == 1


async def test_a_database_that_is_not_the_previous_release_is_refused_and_left_alone(db: Database) -> None:
    history = HISTORIES["erp"]
    await on(db, made_by_the_previous_release(history))
    async with db.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE revoked_clients ADD COLUMN note VARCHAR(20)"))
        await conn.execute(text("CREATE TABLE erp_notes (id INTEGER PRIMARY KEY)"))

    with pytest.raises(MigrationError) as refused:
        await on(db, lambda c: upgrade(connection=c, history=history))

    assert "unknown table erp_notes; unknown column revoked_clients.note" in str(refused.value)
    assert VERSION_TABLE not in await on(db, tables)
    assert set((await on(db, counts(history))).values()) == {1}


async def test_adopting_an_orders_database_drops_the_retired_second_outbox(db: Database) -> None:
    history = HISTORIES["orders"]
    await on(db, made_by_the_previous_release(history))
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE order_events (id INTEGER PRIMARY KEY, payload TEXT)"))

    done = await on(db, lambda c: upgrade(connection=c, history=history))

    assert done.adopted
    assert "order_events" not in await on(db, tables)
    assert (await on(db, counts(history)))["orders"] == 1


async def test_a_database_with_nothing_but_a_retired_table_is_migrated_from_empty(db: Database) -> None:
    history = HISTORIES["orders"]
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE order_events (id INTEGER PRIMARY KEY, payload TEXT)"))

    done = await on(db, lambda c: upgrade(connection=c, history=history))

    assert (done.after, done.adopted) == (history.head(), False)
    assert await on(db, tables) == set(history.target_metadata.tables) | {VERSION_TABLE}


def scratch_history(folder: Path, *revisions: str) -> MigrationHistory:
    """A history of hand-written revisions ``0001``, ``0002``... (each one's ``upgrade`` body)."""
    for number, body in enumerate(revisions, start=1):
        previous = repr(f"{number - 1:04d}") if number > 1 else "None"
        (folder / f"{number:04d}_step.py").write_text(
            "import sqlalchemy as sa\nfrom alembic import op\n\n"
            f"revision = '{number:04d}'\ndown_revision = {previous}\nbranch_labels = None\ndepends_on = None\n\n"
            f"def upgrade() -> None:\n    {body}\n"
        )
    return MigrationHistory(service="scratch", versions=folder, metadata=(MetaData(),))


async def test_a_failed_migration_leaves_the_database_as_it_was(db: Database, tmp_path: Path) -> None:
    history = scratch_history(
        tmp_path,
        "op.create_table('kept', sa.Column('id', sa.Integer, primary_key=True))",
        "op.create_table('half', sa.Column('id', sa.Integer, primary_key=True)); op.execute('SELECT * FROM nowhere')",
    )

    with pytest.raises(sa.exc.DBAPIError):
        await on(db, lambda c: upgrade(connection=c, history=history))

    assert await on(db, tables) == set()


async def test_a_new_column_reaches_a_database_with_rows_in_batch_mode(db: Database, tmp_path: Path) -> None:
    """A later ALTER (here ``NOT NULL`` with a server default on a table with rows) works on
    SQLite as well: the revisions render in batch mode."""
    history = scratch_history(
        tmp_path,
        "op.create_table('stock', sa.Column('sku', sa.String(20), primary_key=True))\n"
        "    op.execute(\"INSERT INTO stock (sku) VALUES ('A')\")",
        "with op.batch_alter_table('stock') as batch:\n"
        "        batch.add_column(sa.Column('version', sa.Integer, nullable=False, server_default='0'))\n"
        "        batch.create_index('ix_stock_version', ['version'])",
    )

    await on(db, lambda c: upgrade(connection=c, history=history, revision="0001"))
    done = await on(db, lambda c: upgrade(connection=c, history=history))

    assert (done.before, done.after) == ("0001", "0002")
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT sku, version FROM stock"))).all() == [("A", 0)]


async def test_the_service_start_migrates_once_and_then_leaves_the_head_alone(db: Database) -> None:
    history = HISTORIES["wms"]

    first = await upgrade_database(db=db, history=history)
    second = await upgrade_database(db=db, history=history)

    assert (first.before, first.after) == (None, history.head())
    assert (second.before, second.after) == (history.head(), history.head())
    assert await on(db, current_revision) == history.head()


def test_a_model_change_becomes_the_next_revision_in_batch_mode(tmp_path: Path) -> None:
    """What ``interchange db revision`` does: the difference between the models and the head is
    written as the next numbered revision, in batch mode, and the two agree once it is applied."""
    before = MetaData()
    sa.Table("stock", before, sa.Column("sku", sa.String(20), primary_key=True))
    after = MetaData()
    sa.Table(
        "stock",
        after,
        sa.Column("sku", sa.String(20), primary_key=True),
        sa.Column("note", sa.String(200), nullable=True),
    )
    first = new_revision(
        history=MigrationHistory(service="scratch", versions=tmp_path, metadata=(before,)), message="stock"
    )
    history = MigrationHistory(service="scratch", versions=tmp_path, metadata=(after,))

    second = new_revision(history=history, message="stock note")

    assert (first.name, second.name) == ("0001_stock.py", "0002_stock_note.py")
    assert 'with op.batch_alter_table("stock"' in second.read_text()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'scratch.db'}")
    with engine.connect() as connection:
        assert upgrade(connection=connection, history=history).after == "0002"
        assert differences(connection=connection, history=history) == []
    engine.dispose()


async def test_replicas_starting_together_migrate_once(db: Database) -> None:
    """Two starts at once on one database: one migrates, the other waits (PostgreSQL's advisory
    lock, SQLite's write lock) and then finds the head."""
    history = HISTORIES["crm"]

    both = await asyncio.gather(*(upgrade_database(db=db, history=history) for _ in range(2)))

    assert sorted((u.before or "", u.after) for u in both) == [("", history.head()), (history.head(), history.head())]
    assert await on(db, lambda c: differences(connection=c, history=history)) == []
