"""A dead storefront push replayed is audited: who (the caller's client), when and why, recorded in
the same transaction as the replay; the reason is optional and free text of at most 300 characters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import select

from contracts.scopes import STOREFRONT_ADMIN
from experience_apis.storefront.app import create_app
from experience_apis.storefront.models import PushReplayRecord, PushStatus
from experience_apis.storefront.repository import StorefrontRepository
from experience_apis.storefront.settings import StorefrontSettings
from tests.support.tokens import bearer, static_verifier


async def test_a_replay_records_who_when_and_why(tmp_path: Path) -> None:
    settings = StorefrontSettings.load(
        "storefront", data_dir=tmp_path, log_json=False, admin_url="http://shop.test", push_poll_seconds=3600
    )
    app = create_app(settings, transport=httpx.MockTransport(lambda r: httpx.Response(500)), verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with app.state.db.transaction() as session:
            await StorefrontRepository(session).want_levels(levels={"WIDGET-RED": 3}, now=datetime.now(UTC))
            row = await StorefrontRepository(session).push("WIDGET-RED")
            assert row is not None
            row.status = PushStatus.dead
        headers = bearer(STOREFRONT_ADMIN, client_id="ops-alice")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sf.test") as client:
            too_long = await client.post(
                "/v1/inventory-pushes/WIDGET-RED/replay", json={"reason": "x" * 301}, headers=headers
            )
            replay = await client.post(
                "/v1/inventory-pushes/WIDGET-RED/replay", json={"reason": "item mapped in the shop"}, headers=headers
            )
        async with app.state.db.transaction() as session:
            audit = list((await session.execute(select(PushReplayRecord))).scalars())
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["pointer"].endswith("reason")
    assert replay.status_code == 202, replay.text
    assert (replay.json()["replayed_by"], replay.json()["reason"]) == ("ops-alice", "item mapped in the shop")
    assert [(a.sku, a.actor, a.reason) for a in audit] == [("WIDGET-RED", "ops-alice", "item mapped in the shop")]
    assert audit[0].requested_at is not None
