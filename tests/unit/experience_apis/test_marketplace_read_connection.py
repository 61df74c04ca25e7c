"""The v1 and v2 status reads run their one Core statement on a bare connection
(service_kit.db.ReadConnDep): no ORM session is opened for them.

The app's background workers open sessions of their own whenever they run (the webhook delivery
worker looks for due deliveries one second after start, then every 2, 4, ... seconds), so a count
of every ``db.sessions()`` call is a race with them: on a busy machine a pass lands between the
reads. The count is therefore of the sessions opened *in the reads' context*: a context variable
set around them, which every task the request starts inherits and the workers (started with the
app, in their own context) do not. A worker pass is made to run during the reads, and a read that
does open a session is counted, so the test checks both sides of that line."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import pytest

from contracts.scopes import MARKETPLACE_AVAILABILITY_READ
from service_kit.webhooks.delivery import WEBHOOK_DELIVERIES
from service_kit.workers import wakeup_for
from tests.support.tokens import Bearer
from tests.unit.experience_apis.conftest import Marketplace
from tests.unit.experience_apis.marketplace_fakes import ACME, order_body

_in_reads: ContextVar[bool] = ContextVar("in_reads", default=False)
FEED_READER = Bearer(MARKETPLACE_AVAILABILITY_READ, client_id="acme-market", partner_id="acme-market")


@contextmanager
def _reads() -> Iterator[None]:
    token = _in_reads.set(True)
    try:
        yield
    finally:
        _in_reads.reset(token)


async def test_status_reads_open_no_orm_session(marketplace: Marketplace, monkeypatch: pytest.MonkeyPatch) -> None:
    submitted = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)
    assert submitted.status_code < 300, submitted.text
    db = marketplace.app.state.db
    sessions = db.sessions
    by_reads: list[str] = []  # where each was opened, for the failure message
    worker_opened = asyncio.Event()

    def counting(*args: Any, **kwargs: Any) -> Any:
        if _in_reads.get():
            by_reads.append("".join(traceback.format_stack(limit=12)))
        else:
            worker_opened.set()
        return sessions(*args, **kwargs)

    monkeypatch.setattr(db, "sessions", counting)

    with _reads():
        v1 = await marketplace.client.get("/v1/orders/ACME-100234", headers=ACME)
        wakeup_for(db=db, topic=WEBHOOK_DELIVERIES).notify()  # a delivery pass now, between the reads
        async with asyncio.timeout(30):
            await worker_opened.wait()  # the webhook delivery worker's pass has opened its session
        v2 = await marketplace.client.get("/v2/orders/ACME-100234", headers=ACME)
        missing = await marketplace.client.get("/v2/orders/ACME-NEVER-SENT", headers=ACME)
        reads_sessions = list(by_reads)
        feed = await marketplace.client.get("/v2/availability", headers=FEED_READER)  # a SessionDep read

    assert v1.status_code == 200, v1.text
    assert v1.json()["order_status"] == "PENDING"
    assert v2.status_code == 200, v2.text
    assert v2.json()["marketplace_order_id"] == "ACME-100234"
    assert missing.status_code == 404
    assert reads_sessions == [], "a status read opened an ORM session at:\n" + "\n".join(reads_sessions)
    assert feed.status_code == 200, feed.text
    assert len(by_reads) == 1, f"the SessionDep read's one session is counted, not {len(by_reads)}"
