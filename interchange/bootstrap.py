"""First-run set-up of the embedded suite: the OAuth clients every service and the demo partners
use, registered in the gateway's database, with their secrets kept under the data directory.

Running it again changes nothing: secrets are read back from ``secrets.json`` and existing clients
are left as they are.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from contracts import scopes
from interchange.services import available_services
from service_kit.db import Database


@dataclass(frozen=True)
class ClientSpec:
    client_id: str
    kind: str  # partner | service | internal
    scopes: tuple[str, ...]
    partner_id: str | None = None
    channel: str | None = None
    tier: str = "standard"


DEMO_PARTNER = "acme-market"

PARTNERS = (
    ClientSpec(
        "acme-market",
        "partner",
        (
            scopes.MARKETPLACE_ORDERS_WRITE,
            scopes.MARKETPLACE_ORDERS_READ,
            scopes.MARKETPLACE_AVAILABILITY_READ,
            scopes.MARKETPLACE_WEBHOOKS_WRITE,
            scopes.MARKETPLACE_SHIPMENTS_READ,
        ),
        partner_id="acme-market",
        channel="marketplace",
    ),
    ClientSpec(
        "zenith-market",
        "partner",
        (
            scopes.MARKETPLACE_ORDERS_WRITE,
            scopes.MARKETPLACE_ORDERS_READ,
            scopes.MARKETPLACE_AVAILABILITY_READ,
            scopes.MARKETPLACE_WEBHOOKS_WRITE,
            scopes.MARKETPLACE_SHIPMENTS_READ,
        ),
        partner_id="zenith-market",
        channel="marketplace",
    ),
    # Resellers on the B2B API (experience_apis.b2b): a trade account and a blocked one.
    *(
        ClientSpec(
            reseller,
            "partner",
            (scopes.B2B_CATALOG_READ, scopes.B2B_ORDERS_WRITE, scopes.B2B_ORDERS_READ, scopes.B2B_ACCOUNT_READ),
            partner_id=reseller,
            channel="b2b",
        )
        for reseller in ("borealis-hw", "closed-shop")
    ),
    # A 3PL on the fulfilment partners' API (experience_apis.fulfillment_partners): it operates WH-3PL.
    ClientSpec(
        "northwind-3pl",
        "partner",
        (
            scopes.FULFILLMENT_REQUESTS_READ,
            scopes.FULFILLMENT_SHIPMENTS_WRITE,
            scopes.FULFILLMENT_RETURNS_WRITE,
            scopes.FULFILLMENT_STOCK_WRITE,
        ),
        partner_id="northwind-3pl",
        channel="fulfillment",
    ),
)


#: The local suite's operator: the CLI's operational commands call the admin APIs as this client
#: (interchange.admin_client); a deployment gives the CLI its own ops client instead.
OPS_CLI = ClientSpec(
    "ops-cli",
    "internal",
    (scopes.OPS, scopes.ORDERS_ADMIN, scopes.INVENTORY_READ, scopes.INVENTORY_WRITE),
    tier="internal",
)


def client_specs() -> list[ClientSpec]:
    services = [
        ClientSpec(s.client_id, "service", s.client_scopes, tier="internal")
        for s in available_services()
        if s.client_scopes
    ]
    return [*services, *PARTNERS, OPS_CLI]


def load_secrets(data_dir: Path) -> dict[str, str]:
    """Read (or create) the secrets of every client we bootstrap; the file is readable by its owner
    only."""
    path = data_dir / "secrets.json"
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for spec in client_specs():
        if spec.client_id not in known:
            known[spec.client_id] = secrets.token_urlsafe(32)
            changed = True
    if changed:
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        os.chmod(path, 0o600)
        path.write_text(json.dumps(known, indent=2) + "\n")
    return known


async def register_clients(db: Database, known: dict[str, str]) -> None:
    from gateway.clients import ensure_client

    for spec in client_specs():
        await ensure_client(
            db,
            client_id=spec.client_id,
            secret=known[spec.client_id],
            kind=spec.kind,
            partner_id=spec.partner_id,
            channel=spec.channel,
            scopes=list(spec.scopes),
            tier=spec.tier,
        )


async def bootstrap(data_dir: Path, gateway_database_url: str) -> dict[str, str]:
    from gateway.migrations import HISTORY
    from gateway.models import Base
    from service_kit.migrations import upgrade_database

    known = load_secrets(data_dir)
    db = Database(gateway_database_url, metadata=[Base.metadata])
    try:
        await upgrade_database(db=db, history=HISTORY)  # before the gateway starts: its migrations
        await register_clients(db, known)
    finally:
        await db.dispose()
    demo = {"client_id": DEMO_PARTNER, "client_secret": known[DEMO_PARTNER]}
    demo_path = data_dir / "demo-client.json"
    demo_path.write_text(json.dumps(demo, indent=2) + "\n")
    os.chmod(demo_path, 0o600)
    return known
