"""The ERP under test, shared by the test_erp* modules (the WMS modules define their own ``app``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from system_apis.erp.app import create_app
from system_apis.erp.settings import ErpSettings
from tests.support.tokens import static_verifier


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Any]:
    settings = ErpSettings.load("erp", data_dir=tmp_path, seed_demo=True, log_json=False)
    app = create_app(settings, verifier=static_verifier())
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def erp(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://erp.test") as client:
        yield client
