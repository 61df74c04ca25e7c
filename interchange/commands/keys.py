"""``interchange keys ...``: the gateway's token signing keys (gateway/keys.py), through its
operators-only admin API (``/admin/keys``, gateway/admin_clients.py) with an ops token
(interchange.admin_client); the CLI never opens the gateway's database for them.

``rotate`` adds a key: it is published in the JWKS at once and signs after the publish delay
(``INTERCHANGE_GATEWAY_SIGNING_KEY_PUBLISH_DELAY``, 600 s); the key it replaces stays published
until the tokens it signed have expired, then is pruned. Running gateways pick the change up
within ``INTERCHANGE_GATEWAY_STATE_REFRESH_INTERVAL`` seconds; nothing needs a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from interchange import display
from interchange.admin_client import admin_api
from interchange.explain import ExplainingGroup, require_database

app = typer.Typer(help="The gateway's token signing keys: list and rotate.", no_args_is_help=True, cls=ExplainingGroup)
console = Console()

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="INTERCHANGE_DATA_DIR", help="Where the gateway's database lives.")
]
T = TypeVar("T")


def with_gateway_db(data_dir: Path, action: Callable[..., Awaitable[T]], *, create: bool = False) -> T:
    """Maintenance beside the gateway (``audit prune``, ``clients bootstrap``), like migrations:
    run ``action(db, settings)`` on the gateway's database (``INTERCHANGE_GATEWAY_DATABASE_URL``
    or ``<data_dir>/gateway.db``); a missing one is an error unless ``create``."""
    from gateway.migrations import HISTORY
    from gateway.models import Base
    from gateway.settings import GatewaySettings
    from service_kit.db import Database
    from service_kit.migrations import upgrade_database

    settings = GatewaySettings.load("gateway", data_dir=data_dir)
    require_database(settings.database_url, service="gateway", create=create)

    async def run() -> T:
        db = Database(settings.database_url, metadata=[Base.metadata])
        try:
            await upgrade_database(db=db, history=HISTORY)
            return await action(db, settings)
        finally:
            await db.dispose()

    with display.working("reading the gateway's database"):
        return asyncio.run(run())


def _show(states: list[dict[str, Any]]) -> None:
    table = Table("kid", "seq", "created", "state", "signs from", "published until")
    for s in states:
        table.add_row(
            s["kid"],
            str(s["seq"]),
            _when(s["created_at"]),
            s["state"],
            _when(s["signs_from"]),
            _when(s["published_until"]),
        )
    console.print(table)


def _when(moment: str | None) -> str:
    return datetime.fromisoformat(moment).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


@app.command("list")
def list_keys(data_dir: DataDir = Path("var")) -> None:
    """Every key and its state: next (published, signs later), signing, retired (published until its tokens expire)."""
    with admin_api("gateway", data_dir=data_dir) as gateway, display.working("asking the gateway"):
        _show(gateway.get("/admin/keys")["items"])


@app.command("rotate")
def rotate(data_dir: DataDir = Path("var")) -> None:
    """Add a signing key (it signs after the publish delay) and prune keys no token needs."""
    with admin_api("gateway", data_dir=data_dir) as gateway, display.working("asking the gateway"):
        states = gateway.post("/admin/keys", json=None)["items"]
    _show(states)
    upcoming = [s for s in states if s["state"] == "next"]
    if upcoming and upcoming[-1]["signs_from"]:
        console.print(f"{upcoming[-1]['kid']} is published now and signs from {_when(upcoming[-1]['signs_from'])}")
