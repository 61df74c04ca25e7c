"""``interchange db ...``: each service's schema migrations (alembic, ``service_kit.migrations``).

``upgrade`` brings one service's database, or every service's, to its head revision (services do
the same when they start); ``current`` says which revision each database is at; ``revision``
autogenerates a service's next revision from its models, into ``<package>/migrations/``.

Databases are the services' own: the SQLite files under ``--data-dir`` (``INTERCHANGE_DATA_DIR``),
or ``INTERCHANGE_<SERVICE>_DATABASE_URL`` (PostgreSQL in a scaled deployment). Like ``interchange
up``, this runs beside the services, not through their APIs.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from interchange import display
from interchange.explain import CommandFailed, ExplainingGroup, require_database

if TYPE_CHECKING:
    from service_kit.migrations import MigrationHistory

app = typer.Typer(
    help="Schema migrations: upgrade, current revision, new revision.", no_args_is_help=True, cls=ExplainingGroup
)
console = Console(soft_wrap=True, highlight=False)

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="INTERCHANGE_DATA_DIR", help="Where the services' databases live.")
]
OneService = Annotated[str | None, typer.Argument(help="One service (default: every service).", show_default=False)]


def _histories(service: str | None) -> list[MigrationHistory]:
    from interchange.services import available_services

    known = {s.name: s for s in available_services()}
    if service is not None and service not in known:
        raise typer.BadParameter(
            f"unknown service {service!r}; known: {', '.join(sorted(known))}", param_hint="SERVICE"
        )
    chosen = [known[service]] if service else list(known.values())
    return [importlib.import_module(f"{s.package}.migrations").HISTORY for s in chosen]


def _database_url(service: str, data_dir: Path) -> str:
    from service_kit.settings import ServiceSettings

    return ServiceSettings.load(service, data_dir=data_dir).database_url


def _sqlite_file_missing(url: str) -> bool:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and bool(parsed.database) and not Path(str(parsed.database)).exists()


@app.command("upgrade")
def upgrade(service: OneService = None, data_dir: DataDir = Path("var")) -> None:
    """Bring a service's database (or every service's) to its head revision. A database made before
    migrations is adopted when it matches the release before them, with its rows; one that does not
    is left unchanged, with the differences named."""
    from service_kit.db import Database
    from service_kit.migrations import MigrationError, upgrade_database

    async def one(history: MigrationHistory, url: str) -> str:
        db = Database(url)
        try:
            done = await upgrade_database(db=db, history=history)
        except MigrationError as exc:
            raise CommandFailed(str(exc)) from None
        finally:
            await db.dispose()
        if not done.changed:
            return f"{history.service}: at {done.after} (the head), nothing to do"
        if done.adopted:
            return f"{history.service}: adopted (made before migrations, rows kept), now at {done.after}"
        return f"{history.service}: {done.before or 'empty'} -> {done.after}"

    for history in _histories(service):
        url = _database_url(history.service, data_dir)
        require_database(url, service=history.service, create=True)
        with display.working(f"migrating the {history.service} database"):
            line = asyncio.run(one(history, url))
        console.print(line)


@app.command("current")
def current(service: OneService = None, data_dir: DataDir = Path("var")) -> None:
    """Say which revision a service's database (or every service's) is at, and whether it is the head."""
    from service_kit.db import Database
    from service_kit.migrations import current_revision

    async def read(url: str) -> str | None:
        db = Database(url)
        try:
            async with db.engine.connect() as conn:
                return await conn.run_sync(current_revision)
        finally:
            await db.dispose()

    for history in _histories(service):
        url = _database_url(history.service, data_dir)
        require_database(url, service=history.service, create=True)
        head = history.head()
        if _sqlite_file_missing(url):
            console.print(f"{history.service}: no database yet (head: {head})")
            continue
        at = asyncio.run(read(url))
        if at == head:
            console.print(f"{history.service}: {at} (head)")
        else:
            console.print(
                f"{history.service}: {at or 'none'} (head: {head}; `interchange db upgrade {history.service}`)"
            )


@app.command("revision")
def revision(
    service: Annotated[str, typer.Argument(help="The service whose models changed.")],
    message: Annotated[str, typer.Option("--message", "-m", help="What the revision changes, in a few words.")],
) -> None:
    """Autogenerate a service's next revision from its models, into <package>/migrations/. Read it
    before committing it (alembic cannot tell a rename from a drop and an add)."""
    from service_kit.migrations import MigrationError, new_revision

    (history,) = _histories(service)
    with display.working(f"comparing the {service} models with the head revision"):
        try:
            path = new_revision(history=history, message=message)
        except MigrationError as exc:
            raise CommandFailed(str(exc)) from None
    shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    console.print(f"{service}: wrote {shown}")


__all__ = ["app"]
