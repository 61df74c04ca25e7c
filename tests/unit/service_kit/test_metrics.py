"""The business metrics (service_kit.metrics): each app has its own, they are exported on
``/metrics`` from the start, and the kit's events count in them: webhook attempts by outcome,
circuit state per upstream, the ERP's calls and quota."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from service_kit.app import create_service_app, upstream
from service_kit.db import Database
from service_kit.errors import UpstreamUnavailable
from service_kit.http import UpstreamPolicy, configure_upstream
from service_kit.metrics import BusinessMetrics
from service_kit.secrets import SecretBox
from service_kit.settings import ServiceSettings
from service_kit.webhooks import WebhookPolicy, WebhooksBase, deliver_due, queue_event, register_subscription
from system_apis.erp.app import create_app as create_erp
from system_apis.erp.settings import ErpSettings
from tests.support.tokens import bearer, static_verifier


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, tuple(sorted(labels.items()))))


def kit_app(tmp_path: Path, name: str, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    settings = ServiceSettings.load(
        name, data_dir=tmp_path, log_json=False, client_id="", client_secret="", erp_url="http://erp.test"
    )
    return create_service_app(settings, title=name, description=name, transport=transport, configure_logs=False)


@pytest.fixture
async def erp(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = ErpSettings.load("erp", data_dir=tmp_path, log_json=False, call_quota_per_second=2)
    app = create_erp(settings, verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://erp.test") as client:
            yield client


async def scrape(client: httpx.AsyncClient) -> str:
    resp = await client.get("/metrics")
    assert resp.status_code == 200
    return resp.text


async def test_two_apps_in_one_process_each_count_on_their_own(tmp_path: Path) -> None:
    first, second = kit_app(tmp_path, "one"), kit_app(tmp_path, "two")

    first.state.metrics.orders_counter(channel="marketplace", outcome="received").inc()

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://one") as one:
        assert value(await scrape(one), "interchange_orders_total", channel="marketplace", outcome="received") == 1
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://two") as two:
        text = await scrape(two)
    assert value(text, "interchange_orders_total", channel="marketplace", outcome="received") is None
    assert "# TYPE interchange_orders_total counter" in text  # declared from the start, with no sample yet


async def test_a_circuit_that_opens_is_exported_per_upstream(tmp_path: Path) -> None:
    down = httpx.MockTransport(lambda request: httpx.Response(500))
    app = kit_app(tmp_path, "caller", transport=down)
    async with app.router.lifespan_context(app):
        configure_upstream(app.state.http, "erp", UpstreamPolicy(breaker_threshold=2, breaker_ttl=60))
        configure_upstream(app.state.http, "wms", UpstreamPolicy())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://caller") as client:
            before = await scrape(client)
            for _ in range(3):
                with pytest.raises(UpstreamUnavailable):
                    await upstream(app, "erp").request("POST", "/v1/things", retry_safe=False)
            after = await scrape(client)

    circuit = "interchange_http_upstream_circuit_state"
    assert value(before, circuit, upstream="erp", state="closed") == 1
    assert value(after, circuit, upstream="erp", state="opened") == 1
    assert value(after, circuit, upstream="erp", state="closed") == 0
    assert value(after, circuit, upstream="wms", state="closed") == 1


async def test_the_erp_counts_calls_served_and_throttled_against_its_quota(erp: httpx.AsyncClient) -> None:
    headers = bearer("erp:read")
    answers = [(await erp.get("/v1/items", headers=headers)).status_code for _ in range(3)]
    text = await scrape(erp)

    served = value(text, "interchange_erp_calls_total", outcome="served")
    throttled = value(text, "interchange_erp_calls_total", outcome="throttled")
    assert (served, throttled) == (len(answers) - answers.count(429), answers.count(429))
    assert served and served >= 1  # the quota is per wall-clock second: at least one call fits
    assert value(text, "interchange_erp_quota_limit_per_second") == 2
    ratio = value(text, "interchange_erp_quota_used_ratio")
    assert ratio is not None and 0 <= ratio <= 1


async def test_webhook_attempts_are_counted_by_outcome_with_their_time(tmp_path: Path) -> None:
    metrics = BusinessMetrics(CollectorRegistry())
    answers = iter([503, 204, 500, 500])  # the first delivery fails once then lands; the second dies
    policy = WebhookPolicy(
        retry_schedule=(0,),
        allowlist=frozenset({"receiver.test"}),
        box=SecretBox(key_file=tmp_path / "secrets.key"),
        metrics=metrics,
    )
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hooks.db'}", metadata=[WebhooksBase.metadata])
    await db.create_schema()
    transport = httpx.MockTransport(lambda request: httpx.Response(next(answers)))
    try:
        async with db.transaction() as session:
            await register_subscription(
                session=session,
                owner="acme",
                url="http://receiver.test/hooks",
                event_types=["availability.changed"],
                description=None,
                policy=policy,
            )
        for event_id in ("evt-1", "evt-2"):
            async with db.transaction() as session:
                await queue_event(
                    session=session,
                    owner="acme",
                    event_type="availability.changed",
                    event_id=event_id,
                    data={"seller_sku": "ACME-WB", "available": "7"},
                    occurred_at=datetime.now(UTC),
                )
            async with httpx.AsyncClient(transport=transport) as http:
                while await deliver_due(db=db, http=http, policy=policy):
                    pass
    finally:
        await db.dispose()

    text = generate_latest(metrics.registry).decode()
    counted = {
        o: value(text, "interchange_webhooks_deliveries_total", outcome=o) for o in ("delivered", "retrying", "dead")
    }
    assert counted == {"delivered": 1, "retrying": 2, "dead": 1}
    assert value(text, "interchange_webhooks_delivery_duration_seconds_count", outcome="retrying") == 2
