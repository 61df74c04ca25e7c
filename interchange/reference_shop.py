"""The reference storefront shop (``reference_partners.storefront_admin``) beside the suite: what
``interchange up`` starts for it and how both sides of the storefront loop are wired.

- The shop listens on 9102 (``INTERCHANGE_SHOP_PORT``; a free port with ``--free-ports``), and the
  storefront service pushes its inventory levels there (``INTERCHANGE_STOREFRONT_ADMIN_URL``).
- The shop delivers its order webhooks to the storefront service's ``POST /v1/webhooks/orders``,
  signed with one webhook secret that both are given: ``INTERCHANGE_STOREFRONT_WEBHOOK_SECRET`` when
  set, else one generated once into the data dir's owner-only ``secrets.json`` (beside the
  clients' secrets, under ``storefront-webhook``).
- It is started when the storefront is (``--only storefront`` starts it too); in scaled mode
  behind nginx it is not started (the storefront's replicas still take signed webhooks).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from interchange.ports import free_port
from interchange.services import ServiceInfo
from service_kit.files import write_private_file

SHOP = ServiceInfo("shop", "partner", "reference_partners.storefront_admin")
DEFAULT_PORT = 9102
ADMIN_PATH = "/admin/api/2024-01"
WEBHOOK_PATH = "/v1/webhooks/orders"
SECRETS_ENTRY = "storefront-webhook"
SHOP_DOMAIN = "demo-shop.storefront.example"  # the storefront service's default webhook_shop_domain


def wanted(only: frozenset[str] | None) -> bool:
    return only is None or "storefront" in only


def shop_url(*, host: str, free_ports: bool) -> str:
    explicit = os.environ.get("INTERCHANGE_SHOP_PORT")
    port = int(explicit) if explicit else free_port(host) if free_ports else DEFAULT_PORT
    return f"http://{host}:{port}"


def webhook_secret(data_dir: Path) -> str:
    """The storefront's webhook secret: the one set in the environment, else the data dir's own
    (generated on the first start, then the same on every start)."""
    explicit = os.environ.get("INTERCHANGE_STOREFRONT_WEBHOOK_SECRET")
    if explicit:
        return explicit
    path = data_dir / "secrets.json"
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if SECRETS_ENTRY not in known:
        known[SECRETS_ENTRY] = secrets.token_urlsafe(32)
        # Atomically: the file holds every client's secret, and a failed write must not lose them.
        write_private_file(path, json.dumps(known, indent=2) + "\n", replace=True)
    return known[SECRETS_ENTRY]


def environment(*, service: str, storefront_url: str, shop_url: str | None, secret: str) -> dict[str, str]:
    """The settings that wire ``service`` (the shop or the storefront) to the other side; the
    storefront pushes its levels to the shop only when the shop is started (``shop_url``)."""
    if service == SHOP.name:
        return {
            "INTERCHANGE_SHOP_WEBHOOK_URL": storefront_url + WEBHOOK_PATH,
            "INTERCHANGE_SHOP_WEBHOOK_SECRET": secret,
            "INTERCHANGE_SHOP_SHOP_DOMAIN": os.environ.get("INTERCHANGE_STOREFRONT_WEBHOOK_SHOP_DOMAIN", SHOP_DOMAIN),
        }
    if service == "storefront":
        wired = {"INTERCHANGE_STOREFRONT_WEBHOOK_SECRET": secret}
        if shop_url:
            wired["INTERCHANGE_STOREFRONT_ADMIN_URL"] = shop_url + ADMIN_PATH
        return wired
    return {}
