"""The system API under test, started on its own SQLite file with the demo data: the ERP unless a
module names another by overriding ``service`` (``"crm"`` or ``"wms"``); ``erp``, ``crm`` and ``wms``
are clients of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service_kit.settings import ServiceSettings
from system_apis.crm.app import create_app as create_crm
from system_apis.erp.app import create_app as create_erp
from system_apis.erp.settings import ErpSettings
from system_apis.wms.app import create_app as create_wms
from tests.support.tokens import static_verifier


@pytest.fixture
def service() -> str:
    return "erp"


SERVICES: dict[str, tuple[type[ServiceSettings], Any]] = {
    "erp": (ErpSettings, create_erp),
    "crm": (ServiceSettings, create_crm),
    "wms": (ServiceSettings, create_wms),
}


@pytest.fixture
async def app(service: str, tmp_path: Path) -> AsyncIterator[Any]:
    settings_type, create_app = SERVICES[service]
    settings = settings_type.load(service, data_dir=tmp_path, seed_demo=True, log_json=False)
    app = create_app(settings, verifier=static_verifier())
    async with app.router.lifespan_context(app):
        yield app


def _client(app: Any, service: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{service}.test")


@pytest.fixture
async def erp(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, "erp") as client:
        yield client


@pytest.fixture
async def crm(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, "crm") as client:
        yield client


@pytest.fixture
async def wms(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, "wms") as client:
        yield client
