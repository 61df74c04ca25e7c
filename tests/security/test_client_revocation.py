"""Issue 10 item 4 in process: disabling a client at the gateway commits a revocation event in
its outbox; a service that consumed it refuses the client's earlier tokens (401 problem) on every
request, cached verification or not, and accepts them again once the client is re-enabled."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import select

from contracts.events import CloudEvent
from gateway.clients import create_client, disable_client, enable_client
from gateway.models import Base as GatewayBase
from service_kit.app import create_service_app
from service_kit.auth import Authenticated
from service_kit.db import Database
from service_kit.events import apply_event
from service_kit.events.outbox import OutboxRecord
from service_kit.revocation import RevokedClients, control_bus_url, revocation_handlers
from service_kit.settings import ServiceSettings
from tests.support.tokens import mint_token, static_verifier


async def gateway_outbox(db: Database) -> list[CloudEvent]:
    async with db.transaction() as session:
        rows = (await session.execute(select(OutboxRecord.envelope).order_by(OutboxRecord.seq))).scalars()
        return [CloudEvent.model_validate_json(row) for row in rows]


async def test_disable_and_enable_commit_their_events_with_the_change(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}", metadata=[GatewayBase.metadata])
    await db.create_schema()
    try:
        client_id, _ = await create_client(
            db, client_id="acme-market", kind="partner", partner_id="acme-market", channel="marketplace", scopes=["x"]
        )
        await disable_client(db, client_id)
        await enable_client(db, client_id)
        revoked, reinstated = await gateway_outbox(db)
    finally:
        await db.dispose()

    assert revoked.type == "com.interchange.client.revoked.v1"
    assert revoked.data["client_id"] == "acme-market" and revoked.subject == "client/acme-market"
    assert reinstated.type == "com.interchange.client.reinstated.v1"
    assert revoked.entityversion is not None and reinstated.entityversion is not None
    assert reinstated.entityversion > revoked.entityversion  # a late revoked cannot undo the enable


def revocation(client_id: str, *, at: datetime, version: int) -> CloudEvent:
    return CloudEvent(
        source="/gateway",
        type="com.interchange.client.revoked.v1",
        subject=f"client/{client_id}",
        entityversion=version,
        data={"client_id": client_id, "revoked_at": at.isoformat()},
    )


def reinstatement(client_id: str, *, version: int) -> CloudEvent:
    return CloudEvent(
        source="/gateway",
        type="com.interchange.client.reinstated.v1",
        subject=f"client/{client_id}",
        entityversion=version,
        data={"client_id": client_id, "reinstated_at": datetime.now(UTC).isoformat()},
    )


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[FastAPI]:
    router = APIRouter()

    @router.get("/v1/whoami")
    async def whoami(principal: Authenticated) -> dict[str, str]:
        return {"client_id": principal.client_id}

    settings = ServiceSettings.load("orders", data_dir=tmp_path, log_json=False, log_level="warning")
    app = create_service_app(
        settings, title="t", description="t", routers=[router], verifier=static_verifier(), configure_logs=False
    )
    async with app.router.lifespan_context(app):
        yield app


async def consume(app: FastAPI, event: CloudEvent) -> None:
    handlers = revocation_handlers(app.state.revoked_clients)
    await apply_event(db=app.state.db, group="orders.client-revocations", event=event, handler=handlers[event.type])


async def test_a_service_refuses_a_revoked_clients_earlier_tokens_until_it_is_enabled_again(service: FastAPI) -> None:
    earlier = {"Authorization": f"Bearer {mint_token(client_id='acme-market')}"}
    other = {"Authorization": f"Bearer {mint_token(client_id='zenith-market')}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service), base_url="http://orders.test") as client:
        assert (await client.get("/v1/whoami", headers=earlier)).status_code == 200  # now in the verified cache

        await consume(service, revocation("acme-market", at=datetime.now(UTC) + timedelta(seconds=1), version=1))
        refused = await client.get("/v1/whoami", headers=earlier)
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "revoked" in refused.json()["detail"] and "enable" in refused.json()["detail"]
        assert "invalid_token" in refused.headers["www-authenticate"]
        assert (await client.get("/v1/whoami", headers=other)).status_code == 200

        # A late redelivery of an older revocation after the enable changes nothing.
        await consume(service, reinstatement("acme-market", version=3))
        await consume(service, revocation("acme-market", at=datetime.now(UTC) + timedelta(seconds=1), version=2))
        assert (await client.get("/v1/whoami", headers=earlier)).status_code == 200


async def test_tokens_issued_after_the_revocation_are_judged_by_it_not_refused(service: FastAPI) -> None:
    await consume(service, revocation("acme-market", at=datetime.now(UTC) - timedelta(seconds=60), version=1))
    later = {"Authorization": f"Bearer {mint_token(client_id='acme-market')}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service), base_url="http://orders.test") as client:
        assert (await client.get("/v1/whoami", headers=later)).status_code == 200


async def test_the_deny_list_survives_a_restart_and_replicas_read_it_from_the_table(service: FastAPI) -> None:
    await consume(service, revocation("acme-market", at=datetime.now(UTC), version=1))
    replica = await RevokedClients.load(service.state.db)  # another process of the same service
    assert replica.refuses({"client_id": "acme-market", "iat": datetime.now(UTC).timestamp() - 10})
    assert not replica.refuses({"client_id": "zenith-market", "iat": 0})


def test_the_event_schemas_are_published() -> None:
    root = Path(__file__).resolve().parents[2] / "contracts" / "events" / "schemas"
    for event_type in ("com.interchange.client.revoked.v1", "com.interchange.client.reinstated.v1"):
        schema = json.loads((root / f"{event_type}.json").read_text())
        assert schema["properties"]["type"]["const"] == event_type


@pytest.mark.parametrize(
    ("events_url", "control"),
    [
        ("", "sqlite:///var/control-events.db?poll=1.0"),
        ("sqlite:////srv/ic/events.db?lease=5", "sqlite:////srv/ic/control-events.db?lease=5&poll=1.0"),
        ("redis://cache:6379/0", "redis://cache:6379/0?stream=interchange%3Aevents.control"),
    ],
)
def test_revocations_travel_on_their_own_log_beside_the_event_bus(events_url: str, control: str) -> None:
    settings = ServiceSettings.load("orders", data_dir=Path("var"), events_url=events_url)
    assert control_bus_url(settings) == control
