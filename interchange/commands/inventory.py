"""``interchange inventory ...``: availability per channel, and reconciliation with its drift table.

``reconcile`` asks the inventory service over HTTP with an ops token (interchange.admin_client);
with ``--repair`` the service's publisher sends the corrections at its next pass.
``availability`` still reads the inventory database under ``--data-dir`` through the same
service functions as the API (the API answers one channel at a time; the channels are the
service's settings).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from interchange import display
from interchange.explain import ExplainingGroup, require_database

app = typer.Typer(
    help="The inventory process: availability per channel, reconciliation.", no_args_is_help=True, cls=ExplainingGroup
)
console = Console(soft_wrap=True)
T = TypeVar("T")

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="INTERCHANGE_DATA_DIR", help="Where the inventory database lives.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _settings(data_dir: Path) -> Any:
    from process_apis.inventory.settings import InventorySettings

    overrides: dict[str, Any] = {"data_dir": data_dir}
    suite_file = data_dir / "suite.json"
    if suite_file.exists():
        services = json.loads(suite_file.read_text()).get("services", {})
        overrides |= {f"{name}_url": url for name, url in services.items() if name in ("gateway", "wms", "erp")}
        if "gateway" in services:
            overrides |= {"issuer": services["gateway"]}
    secrets_file = data_dir / "secrets.json"
    if secrets_file.exists():
        known = json.loads(secrets_file.read_text())
        if "svc-inventory" in known:
            overrides |= {"client_id": "svc-inventory", "client_secret": known["svc-inventory"]}
    return InventorySettings.load("inventory", **overrides)


def _run(data_dir: Path, action: Callable[[Any, Any, Any], Awaitable[T]]) -> T:
    from process_apis.inventory.migrations import HISTORY
    from process_apis.inventory.models import Base
    from service_kit.db import Database
    from service_kit.http import ServiceToken, Upstream, build_http_client
    from service_kit.migrations import upgrade_database

    async def main() -> T:
        settings = _settings(data_dir)
        require_database(settings.database_url, service="inventory")
        db = Database(settings.database_url, metadata=[Base.metadata])
        http = build_http_client(settings)
        token = ServiceToken(
            http, token_url=settings.token_url, client_id=settings.client_id, client_secret=settings.client_secret
        )
        wms = Upstream(http, token, base_url=settings.wms_url, name="wms")
        try:
            await upgrade_database(db=db, history=HISTORY)
            async with db.transaction() as session:
                return await action(session, settings, wms)
        finally:
            await http.aclose()
            await db.dispose()

    with display.working("reading the inventory database"):
        return asyncio.run(main())


@app.command()
def reconcile(
    repair: Annotated[
        bool, typer.Option("--repair", help="Correct the projection and republish what drifted.")
    ] = False,
    data_dir: DataDir = Path("var"),
    as_json: AsJson = False,
) -> None:
    """Compare what every channel was told with the true availability from the WMS's stock now.

    Asks the inventory service (``POST /v1/reconciliations``, scope ``inventory:write``) with an
    ops token (interchange.admin_client); exit code 1 when drift was found and not repaired."""
    from interchange.admin_client import admin_api

    with (
        admin_api("inventory", data_dir=data_dir) as inventory,
        display.working("the inventory service is comparing the WMS's stock with what each channel was told"),
    ):
        report: dict[str, Any] = inventory.post("/v1/reconciliations", json={"repair": repair})
    drift = report["drift"]
    if as_json:
        console.print_json(data=report)
        raise typer.Exit(1 if drift and not repair else 0)
    table = Table(title=f"Drift: {len(drift)} of {report['skus']} SKUs x {report['channels']} channels")
    for column in ("sku", "channel", "told", "true", "since", "pending"):
        table.add_column(column, justify="right" if column in ("told", "true") else "left")
    for d in drift:
        since = (d.get("since") or "-")[:19]
        table.add_row(
            d["sku"], d["channel"], str(d["told"]), str(d["true"]), since, "yes" if d.get("publication_pending") else ""
        )
    console.print(table)
    if repair:
        console.print(
            f"repaired: {report.get('positions_corrected', 0)} position(s) corrected; drifting values republished"
        )
    raise typer.Exit(1 if drift and not repair else 0)


@app.command()
def availability(
    sku: Annotated[str, typer.Argument(help="The canonical SKU.")],
    data_dir: DataDir = Path("var"),
    as_json: AsJson = False,
) -> None:
    """What each channel may sell of SKU now (from the projection), and what it was last told."""
    from process_apis.inventory.service import channel_availability

    async def action(session: Any, settings: Any, _: Any) -> list[Any]:
        found = []
        for channel in settings.channels:
            found += await channel_availability(session=session, rules=settings.channels, skus=[sku], channel=channel)
        return found

    rows = _run(data_dir, action)
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in rows]))
        return
    table = Table(title=f"Availability of {sku}")
    for column in ("channel", "available", "told", "told at", "pending"):
        table.add_column(column)
    for r in rows:
        told_at = r.told_at.isoformat(timespec="seconds") if r.told_at else "-"
        told = r.told.value if r.told else "-"
        table.add_row(r.channel, r.available.value, told, told_at, "yes" if r.publication_pending else "")
    console.print(table)
    if not rows:
        console.print(f"no stock of {sku} is known")
