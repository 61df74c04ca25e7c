"""A status read runs its one Core statement on a bare connection (service_kit.db.ReadConnDep): no
ORM session is opened for it, and the partner check is unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.process_apis.conftest import Orders, order_body
from tests.unit.process_apis.saga_helpers import submit


async def test_a_status_read_opens_no_orm_session(orders: Orders, monkeypatch: pytest.MonkeyPatch) -> None:
    order_id = await submit(orders, order_body("MP-1"))
    db = orders.app.state.db
    sessions = db.sessions
    opened: list[object] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        opened.append(args)
        return sessions(*args, **kwargs)

    monkeypatch.setattr(db, "sessions", counting)

    mine = await orders.get(order_id)
    theirs = await orders.get(order_id, partner="another-market")

    assert mine.status_code == 200, mine.text
    assert mine.json()["id"] == order_id
    assert mine.json()["channel_order_id"] == "MP-1"
    assert theirs.status_code == 404
    assert theirs.headers["content-type"] == "application/problem+json"
    assert opened == []
