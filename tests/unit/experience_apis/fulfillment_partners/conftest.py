"""The fulfilment partners' API in process, with the fulfilment and inventory process APIs faked
(tests/unit/experience_apis/fulfillment_fakes.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from contracts.scopes import (
    FULFILLMENT_REQUESTS_READ,
    FULFILLMENT_RETURNS_WRITE,
    FULFILLMENT_SHIPMENTS_WRITE,
    FULFILLMENT_STOCK_WRITE,
)
from experience_apis.fulfillment_partners.app import create_app
from experience_apis.fulfillment_partners.settings import FulfillmentPartnersSettings
from service_kit.http import RoutingTransport
from tests.support.tokens import Bearer, static_verifier
from tests.unit.experience_apis.fulfillment_fakes import FakeFulfillmentApi, FakeInventoryApi

SCOPES = (FULFILLMENT_REQUESTS_READ, FULFILLMENT_SHIPMENTS_WRITE, FULFILLMENT_RETURNS_WRITE, FULFILLMENT_STOCK_WRITE)
NORTHWIND = Bearer(*SCOPES, client_id="northwind-3pl", partner_id="northwind-3pl")
#: A partner with a valid token that is not set up here.
STRANGER = Bearer(*SCOPES, client_id="other-3pl", partner_id="other-3pl")
PROBLEM = "application/problem+json"
#: The partner's receiver (allowlisted: it resolves nowhere here).
HOOKS = "hooks.northwind.test"


@dataclass
class Partners:
    app: FastAPI
    client: httpx.AsyncClient
    fulfillment: FakeFulfillmentApi
    inventory: FakeInventoryApi


@pytest.fixture
async def partners(tmp_path: Path) -> AsyncIterator[Partners]:
    fulfillment, inventory = FakeFulfillmentApi(), FakeInventoryApi(on_hand={"WIDGET-BLUE": 42})
    fulfillment.add_request("fr_1")
    fulfillment.add_request("fr_other", partner="southwind-3pl", order_id="ord_2")
    settings = FulfillmentPartnersSettings.load(
        "fulfillment_partners",
        webhook_allow_hosts=[HOOKS],
        data_dir=tmp_path,
        seed_demo=True,
        log_json=False,
        fulfillment_url="http://fulfillment.test",
        inventory_url="http://inventory.test",
        client_id="",
        client_secret="",
    )
    transport = RoutingTransport(
        {
            "fulfillment.test": httpx.MockTransport(fulfillment.handle),
            "inventory.test": httpx.MockTransport(inventory.handle),
        }
    )
    app = create_app(settings, transport=transport, verifier=static_verifier())
    async with app.router.lifespan_context(app):
        asgi = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=asgi, base_url="http://partners.test") as client:
            yield Partners(app=app, client=client, fulfillment=fulfillment, inventory=inventory)
