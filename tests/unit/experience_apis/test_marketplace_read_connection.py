"""The v1 and v2 status reads run their one Core statement on a bare connection
(service_kit.db.ReadConnDep): no ORM session is opened for them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.experience_apis.conftest import Marketplace
from tests.unit.experience_apis.marketplace_fakes import ACME, order_body


async def test_status_reads_open_no_orm_session(marketplace: Marketplace, monkeypatch: pytest.MonkeyPatch) -> None:
    submitted = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)
    assert submitted.status_code < 300, submitted.text
    db = marketplace.app.state.db
    sessions = db.sessions
    opened: list[object] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        opened.append(args)
        return sessions(*args, **kwargs)

    monkeypatch.setattr(db, "sessions", counting)

    v1 = await marketplace.client.get("/v1/orders/ACME-100234", headers=ACME)
    v2 = await marketplace.client.get("/v2/orders/ACME-100234", headers=ACME)
    missing = await marketplace.client.get("/v2/orders/ACME-NEVER-SENT", headers=ACME)

    assert v1.status_code == 200, v1.text
    assert v1.json()["order_status"] == "PENDING"
    assert v2.status_code == 200, v2.text
    assert v2.json()["marketplace_order_id"] == "ACME-100234"
    assert missing.status_code == 404
    assert opened == []
