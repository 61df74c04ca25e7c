"""``interchange audit``: the gateway's record of proxied calls (gateway/audit.py), newest first,
read from the gateway's ``GET /admin/audit`` with an ops token (interchange.admin_client);
``interchange audit prune`` deletes the records past their retention now, in the gateway's
database (maintenance beside the gateway, like migrations; the gateway does it hourly on its own).

interchange audit --partner acme-market --status 4xx --since 2h --limit 20
interchange audit --json --since 15m | jq .operation     (one JSON object per line)
interchange audit prune --older-than-days 30
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from interchange import display
from interchange.commands.keys import DataDir, with_gateway_db
from interchange.explain import ExplainingGroup

app = typer.Typer(
    help="Who called what through the gateway, and how it went.", invoke_without_command=True, cls=ExplainingGroup
)
console = Console()

_AGO = re.compile(r"^(\d+)\s*([smhd])$")
_STATUS = re.compile(r"^[1-5](\d\d|xx)$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str, *, now: float | None = None) -> float:
    """``90s``, ``15m``, ``2h``, ``7d`` ago, or an ISO 8601 time (UTC unless it says otherwise)."""
    now = time.time() if now is None else now
    ago = _AGO.match(value.strip().lower())
    if ago:
        return now - int(ago.group(1)) * _SECONDS[ago.group(2)]
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise typer.BadParameter(
            "use 15m, 2h, 7d or an ISO time such as 2026-11-23T09:00", param_hint="--since"
        ) from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@app.callback()
def audit(
    ctx: typer.Context,
    client: Annotated[str | None, typer.Option("--client", help="Only this client id's calls.")] = None,
    partner: Annotated[str | None, typer.Option("--partner", help="Only this partner's calls.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="A status (404) or a class (4xx).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="15m, 2h, 7d, or an ISO time.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line instead of a table.")] = False,
    data_dir: DataDir = Path("var"),
) -> None:
    """List proxied calls: time, client, partner, operation, version, status, latency, correlation id.

    Read from the gateway's ``GET /admin/audit`` with an ops token (interchange.admin_client)."""
    if ctx.invoked_subcommand is not None:
        return  # ``audit prune``: nothing to list
    from interchange.admin_client import admin_api

    if status and not _STATUS.match(status.strip().lower()):
        raise typer.BadParameter(
            f"a status is a code such as 404 or a class such as 4xx, not {status!r}", param_hint="--status"
        )
    start = parse_since(since) if since else None
    params = {"client": client, "partner": partner, "status": status, "since": start, "limit": limit}
    with admin_api("gateway", data_dir=data_dir) as gateway, display.working("reading the gateway's audit log"):
        entries = gateway.get("/admin/audit", params=params)["items"]
    if as_json:
        for e in entries:
            typer.echo(json.dumps(e | {"at": datetime.fromtimestamp(e["at"], UTC).isoformat()}))
        return
    table = Table("time (UTC)", "client", "partner", "operation", "version", "status", "ms", "correlation id")
    for e in entries:
        moment = datetime.fromtimestamp(e["at"], UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        table.add_row(
            moment,
            e["client_id"] or "-",
            e["partner_id"] or "-",
            e["operation"] or f"{e['method']} {e['path']}",
            f"{e['api']} {e['version']}",
            str(e["status"]),
            f"{e['latency_ms']:.1f}",
            e["correlation_id"],
        )
    console.print(table)
    if not entries:
        console.print("no calls match")


@app.command("prune")
def prune(
    older_than_days: Annotated[
        int | None,
        typer.Option(
            "--older-than-days",
            min=1,
            help="Delete records older than this many days (default: INTERCHANGE_GATEWAY_AUDIT_RETENTION_DAYS, 90).",
        ),
    ] = None,
    data_dir: DataDir = Path("var"),
) -> None:
    """Delete audit records past their retention, in batches, and say how many went."""
    from gateway.audit import SECONDS_PER_DAY, prune_audit

    async def action(db, settings):  # type: ignore[no-untyped-def]
        days = older_than_days or settings.audit_retention_days
        before = time.time() - days * SECONDS_PER_DAY
        return days, before, await prune_audit(db, before=before, batch_size=settings.audit_prune_batch_size)

    days, before, removed = with_gateway_db(data_dir, action)
    cutoff = datetime.fromtimestamp(before, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    noun = "record" if removed == 1 else "records"
    console.print(f"removed [bold]{removed}[/bold] audit {noun} older than {days} days (before {cutoff})")
