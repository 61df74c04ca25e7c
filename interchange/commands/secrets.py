"""``interchange secrets ...``: the key that seals secrets at rest (service_kit/secrets.py): the
gateway's private signing keys and the marketplace's webhook signing secrets.

``rotate`` puts a new key first in the key file (``<data-dir>/secrets.key``; running services
pick it up on their next use, no restart) and re-encrypts every stored secret under it; the older
keys stay in the file so anything sealed meanwhile still opens. ``--retire-old`` then removes them,
once every stored secret opens with the new key alone. With ``INTERCHANGE_SECRETS_KEYS`` (keys
from a secret manager) there is no file to change: put the new key first in the setting, restart
the services, run ``rotate`` (it re-encrypts), then drop the old key from the setting.

This runs beside the services, like migrations: it opens their databases directly. It stays local
on purpose (the rest of the CLI goes through the admin APIs): the key file is on the services'
host, and the new key must never travel over an API; what it re-seals (the gateway's signing keys,
the marketplace's webhook secrets) is opened with that key only there.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from interchange import display
from interchange.explain import CommandFailed, ExplainingGroup

app = typer.Typer(help="The key that seals secrets at rest: rotate it.", no_args_is_help=True, cls=ExplainingGroup)
console = Console()

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="INTERCHANGE_DATA_DIR", help="Where the databases and the key file live.")
]


@dataclass
class Rotation:
    new_key_in: list[Path] = field(default_factory=list)
    resealed: dict[str, int] = field(default_factory=dict)
    retired: int = 0
    #: Why older keys were kept although ``retire`` was asked.
    kept_because: str | None = None


async def rotate_secrets_key(*, data_dir: Path, retire: bool = False) -> Rotation:
    """Add a key (to each key file in use), re-encrypt every stored secret under it and, with
    ``retire``, drop the older keys once nothing needs them."""
    from gateway.keys import keys_sealed_with_newest, reseal_keys
    from gateway.models import Base as GatewayBase
    from interchange.services import by_name
    from service_kit.db import Database
    from service_kit.migrations import upgrade_database
    from service_kit.secrets import SecretBox, add_key, retire_keys
    from service_kit.settings import ServiceSettings
    from service_kit.webhooks import WebhooksBase
    from service_kit.webhooks.secrets import reseal_subscription_secrets, subscription_secrets_sealed_with_newest

    Reseal = Callable[[Database, SecretBox], Awaitable[int]]
    Check = Callable[[Database, SecretBox], Awaitable[bool]]
    holders: list[tuple[str, object, Reseal, Check]] = [
        ("gateway", GatewayBase.metadata, reseal_keys, keys_sealed_with_newest),
        (
            "marketplace",
            WebhooksBase.metadata,
            lambda db, box: reseal_subscription_secrets(db=db, box=box),
            lambda db, box: subscription_secrets_sealed_with_newest(db=db, box=box),
        ),
    ]
    rotation = Rotation()
    boxes = {name: SecretBox.from_settings(ServiceSettings.load(name, data_dir=data_dir)) for name, *_ in holders}
    key_files = sorted({box.key_file for box in boxes.values() if box.key_file is not None})
    for key_file in key_files:
        if not key_file.parent.is_dir():
            raise CommandFailed(
                f"no data directory {key_file.parent}: the suite has not run here yet "
                "(give --data-dir / INTERCHANGE_DATA_DIR)"
            )
    for key_file in key_files:
        add_key(key_file)
        rotation.new_key_in.append(key_file)
    all_newest = True
    for name, metadata, reseal, check in holders:
        url = ServiceSettings.load(name, data_dir=data_dir).database_url
        if _missing_sqlite_file(url):
            continue  # that service never ran here: nothing is stored, and nothing to create
        db = Database(url, metadata=[metadata])  # type: ignore[list-item]
        try:
            history = importlib.import_module(f"{by_name(name).package}.migrations").HISTORY
            await upgrade_database(db=db, history=history)
            rotation.resealed[name] = await reseal(db, boxes[name])
            all_newest = all_newest and await check(db, boxes[name])
        finally:
            await db.dispose()
    if retire:
        if not all_newest:
            rotation.kept_because = "a stored secret does not open with the new key alone yet; run rotate again"
        elif not key_files:
            rotation.kept_because = "the keys come from INTERCHANGE_SECRETS_KEYS: remove the old ones there"
        else:
            rotation.retired = sum(retire_keys(key_file) for key_file in key_files)
    return rotation


def _missing_sqlite_file(url: str) -> bool:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and bool(parsed.database) and not Path(str(parsed.database)).exists()


@app.command("rotate")
def rotate(
    data_dir: DataDir = Path("var"),
    retire_old: Annotated[
        bool, typer.Option("--retire-old", help="Then remove the older keys (nothing they sealed is left).")
    ] = False,
) -> None:
    """Seal every stored secret under a new key; the old keys keep opening until --retire-old. Run
    it beside the services (on their host, like migrations): it writes the key file and opens the
    gateway's and the marketplace's databases directly, so that the key never travels over an API."""
    with display.working("sealing every stored secret under a new key"):
        rotation = asyncio.run(rotate_secrets_key(data_dir=data_dir, retire=retire_old))
    for key_file in rotation.new_key_in:
        console.print(f"new key first in {key_file}")
    for name, count in rotation.resealed.items():
        console.print(f"{name}: {count} secret(s) sealed under the newest key")
    if retire_old:
        console.print(
            f"retired {rotation.retired} old key(s)" if rotation.kept_because is None else rotation.kept_because
        )
