"""Deliveries: signed, same id on every retry, redirects not followed, the SSRF guard again at
delivery, dead letters after the schedule, replay. A zero-wait schedule stands in for days."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from service_kit.db import Database
from service_kit.errors import Conflict, NotFound, UnprocessableContent
from service_kit.http import RoutingTransport
from service_kit.secrets import SecretBox
from service_kit.webhooks import (
    DeliveryStatus,
    WebhookPolicy,
    WebhooksBase,
    delete_subscription,
    deliver_due,
    list_deliveries,
    queue_event,
    register_subscription,
    replay_delivery,
    verify,
)

RECEIVER = "http://receiver.test/hooks"


@dataclass
class Receiver:
    """A partner's endpoint: fails the first ``failures`` calls, or answers ``answer``."""

    secret: str = ""
    failures: int = 0
    answer: Callable[[httpx.Request], httpx.Response] | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answer is not None:
            return self.answer(request)
        if len(self.requests) <= self.failures:
            return httpx.Response(503)
        verify(secret=self.secret, body=request.content, headers=dict(request.headers))
        self.verified.append(request.headers["webhook-id"])
        return httpx.Response(204)


@dataclass
class Kit:
    db: Database
    http: httpx.AsyncClient
    receiver: Receiver
    dns: dict[str, list[str]]
    policy: WebhookPolicy

    async def subscribe(self, url: str = RECEIVER, owner: str = "acme") -> str:
        async with self.db.transaction() as session:
            registered = await register_subscription(
                session=session,
                owner=owner,
                url=url,
                event_types=["availability.changed"],
                description=None,
                policy=self.policy,
            )
        self.receiver.secret = registered.secret
        return registered.subscription.id

    async def publish(self, event_id: str = "evt-1", owner: str = "acme") -> None:
        async with self.db.transaction() as session:
            await queue_event(
                session=session,
                owner=owner,
                event_type="availability.changed",
                event_id=event_id,
                data={"seller_sku": "ACME-WB", "available": "7"},
                occurred_at=datetime.now(UTC),
            )

    async def drain(self, passes: int = 20) -> None:
        for _ in range(passes):
            if not await deliver_due(db=self.db, http=self.http, policy=self.policy):
                return

    async def deliveries(self, sub_id: str, owner: str = "acme") -> list[tuple[str, str, int, str | None]]:
        async with self.db.transaction() as session:
            rows = await list_deliveries(session=session, owner=owner, subscription_id=sub_id, status=None, limit=10)
            return [(d.id, d.status, d.attempts, d.last_error) for d in rows]


@pytest.fixture
async def kit(tmp_path: Path) -> AsyncIterator[Kit]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hooks.db'}", metadata=[WebhooksBase.metadata])
    await db.create_schema()
    receiver = Receiver()
    dns = {"hooks.partner.example": ["93.184.215.14"]}

    async def resolve(host: str, port: int) -> list[str]:
        return dns.get(host, [])

    policy = WebhookPolicy(
        retry_schedule=(0, 0, 0),
        allowlist=frozenset({"receiver.test"}),
        resolver=resolve,
        box=SecretBox(key_file=tmp_path / "secrets.key"),
    )
    transport = RoutingTransport(
        {
            "receiver.test": httpx.MockTransport(receiver.handle),
            "hooks.partner.example": httpx.MockTransport(receiver.handle),
        }
    )
    async with httpx.AsyncClient(transport=transport) as http:
        yield Kit(db=db, http=http, receiver=receiver, dns=dns, policy=policy)
    await db.dispose()


async def test_a_receiver_failing_twice_still_gets_the_event_under_one_delivery_id(kit: Kit) -> None:
    kit.receiver.failures = 2
    sub = await kit.subscribe()
    await kit.publish()
    await kit.publish()  # the same event again (a redelivered bus message) queues nothing new
    await kit.drain()
    ids = {r.headers["webhook-id"] for r in kit.receiver.requests}
    assert len(kit.receiver.requests) == 3 and len(ids) == 1
    assert kit.receiver.verified == list(ids)
    [(delivery_id, status, attempts, error)] = await kit.deliveries(sub)
    assert (delivery_id, status, attempts, error) == (ids.pop(), DeliveryStatus.delivered, 3, None)
    assert kit.receiver.requests[0].headers["content-type"] == "application/json"


async def test_redirects_are_not_followed(kit: Kit) -> None:
    kit.receiver.answer = lambda r: httpx.Response(302, headers={"location": "http://169.254.169.254/latest"})
    sub = await kit.subscribe()
    await kit.publish()
    await deliver_due(db=kit.db, http=kit.http, policy=kit.policy)
    assert [r.url.host for r in kit.receiver.requests] == ["receiver.test"]
    [(_, status, attempts, error)] = await kit.deliveries(sub)
    assert status == DeliveryStatus.pending and attempts == 1
    assert error is not None and "redirect" in error and "not followed" in error


async def test_dead_after_the_schedule_then_replay_delivers_with_the_same_id(kit: Kit) -> None:
    kit.receiver.answer = lambda r: httpx.Response(500)
    sub = await kit.subscribe()
    await kit.publish()
    await kit.drain()
    [(delivery_id, status, attempts, error)] = await kit.deliveries(sub)
    assert (status, attempts, error) == (DeliveryStatus.dead, 4, "HTTP 500")  # first try + 3 retries
    assert len(kit.receiver.requests) == 4

    kit.receiver.answer = None
    async with kit.db.transaction() as session:
        await replay_delivery(session=session, owner="acme", subscription_id=sub, delivery_id=delivery_id)
    await kit.drain()
    assert kit.receiver.verified == [delivery_id]
    [(_, status, _, _)] = await kit.deliveries(sub)
    assert status == DeliveryStatus.delivered
    async with kit.db.transaction() as session:
        with pytest.raises(Conflict):  # only dead deliveries are replayed
            await replay_delivery(session=session, owner="acme", subscription_id=sub, delivery_id=delivery_id)


async def test_the_guard_runs_again_at_delivery(kit: Kit) -> None:
    sub = await kit.subscribe("https://hooks.partner.example/in")
    kit.dns["hooks.partner.example"] = ["10.0.0.7"]  # DNS changed after registration
    await kit.publish()
    await kit.drain()
    assert kit.receiver.requests == []
    [(_, status, attempts, error)] = await kit.deliveries(sub)
    assert status == DeliveryStatus.dead and attempts == 4
    assert error is not None and "target refused" in error and "private" in error


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/x", "http://10.1.1.1/x", "http://169.254.169.254/x", "http://[::1]/x", "file:///etc/hosts"],
)
async def test_unsafe_targets_are_refused_at_registration_naming_the_field(kit: Kit, url: str) -> None:
    with pytest.raises(UnprocessableContent) as refused:
        await kit.subscribe(url)
    assert refused.value.errors is not None and refused.value.errors[0]["pointer"] == "#/url"


async def test_owners_see_only_their_own_and_deleted_subscriptions_stop(kit: Kit) -> None:
    sub = await kit.subscribe()
    async with kit.db.transaction() as session:
        with pytest.raises(NotFound):
            await list_deliveries(session=session, owner="zenith", subscription_id=sub, status=None, limit=10)
        with pytest.raises(NotFound):
            await delete_subscription(session=session, owner="zenith", subscription_id=sub)
    await kit.publish(owner="zenith")  # zenith has no subscription: nothing queued for acme's
    assert await kit.deliveries(sub) == []
    await kit.publish()
    async with kit.db.transaction() as session:
        await delete_subscription(session=session, owner="acme", subscription_id=sub)
    await kit.drain()
    assert kit.receiver.requests == []
