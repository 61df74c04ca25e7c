"""Sending queued webhook deliveries: signed, never redirected, retried over days, then parked.

``deliver_due`` is one pass: it claims the deliveries whose attempt is due, sends each once and
records the outcome. A 2xx is delivered. Anything else is a failed attempt: a 3xx (redirects are
never followed: a receiver could bounce us to an internal address), a 4xx or 5xx, a timeout, an
unreachable host, or a target the SSRF guard now refuses (checked again before every attempt,
since DNS answers change). After failed attempt ``n`` the next one waits ``retry_schedule[n-1]``;
when the schedule is used up the delivery is ``dead`` and waits for a replay.

The schedule is Standard Webhooks' (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: about
three days). It is hand-written rather than stamina's because the waits are far longer than a
process lives: each next attempt is a row in the delivery table, not a sleeping coroutine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from fastapi import FastAPI

from service_kit.db import Database
from service_kit.metrics import BusinessMetrics
from service_kit.secrets import SecretBox
from service_kit.webhooks.models import DeliveryStatus
from service_kit.webhooks.repository import WebhookRepository
from service_kit.webhooks.secrets import seal_subscription_secrets
from service_kit.webhooks.signing import signature_headers
from service_kit.webhooks.targets import Resolver, TargetRefused, check_target
from service_kit.workers import run_worker, stop_event, wakeup_for

log = structlog.get_logger("service_kit.webhooks")

#: Seconds before each retry (Standard Webhooks' schedule); the first attempt is immediate.
DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
MAX_ERROR = 2000
#: The topic of the delivery worker's wake-up (``service_kit.workers.wakeup_for``).
WEBHOOK_DELIVERIES = "webhook_deliveries"


@dataclass(frozen=True)
class WebhookPolicy:
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    allowlist: frozenset[str] = frozenset()  # hosts exempt from the SSRF guard (tests, in-house receivers)
    timeout: float = 10.0  # per attempt: connect, write and read
    resolver: Resolver | None = None  # None: the system resolver
    batch_size: int = 20
    poll_seconds: float = 1.0  # idle: the first wait for work; it doubles up to max_idle_seconds
    max_idle_seconds: float = 30.0
    lease_seconds: float = 120.0  # a claimed delivery comes due again if its worker died
    user_agent: str = "Interchange-Webhooks/1.0"
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: Seals subscriptions' signing secrets at rest (service_kit.secrets); required to register
    #: a subscription or send a delivery.
    box: SecretBox | None = None
    #: Where attempts are counted (``interchange_webhooks_*``); the worker sets the app's.
    metrics: BusinessMetrics | None = None

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> WebhookPolicy:
        """Reads ``webhook_retry_schedule``, ``webhook_allow_hosts`` and ``webhook_timeout`` when the
        service's settings have them."""
        values: dict[str, Any] = {}
        if (schedule := getattr(settings, "webhook_retry_schedule", None)) is not None:
            values["retry_schedule"] = tuple(float(s) for s in schedule)
        if (hosts := getattr(settings, "webhook_allow_hosts", None)) is not None:
            values["allowlist"] = frozenset(h.lower() for h in hosts)
        if (timeout := getattr(settings, "webhook_timeout", None)) is not None:
            values["timeout"] = float(timeout)
        values["box"] = SecretBox.from_settings(settings)
        return cls(**(values | overrides))

    @property
    def secrets(self) -> SecretBox:
        if self.box is None:
            raise RuntimeError("WebhookPolicy.box is not set: webhook secrets are stored encrypted")
        return self.box


@dataclass(frozen=True)
class _Claimed:
    id: str
    url: str
    secret: str
    body: str
    attempts: int
    live: bool  # False when the subscription was deleted meanwhile


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    seconds: float = 0.0  # how long the attempt took


async def deliver_due(*, db: Database, http: httpx.AsyncClient, policy: WebhookPolicy) -> int:
    """One pass over due deliveries; returns how many attempts were made."""
    claimed = await _claim(db=db, policy=policy)
    outcomes = await asyncio.gather(*(_send(http=http, policy=policy, item=item) for item in claimed))
    async with db.transaction() as session:
        repository = WebhookRepository(session)
        for item, outcome in zip(claimed, outcomes, strict=True):
            row = await repository.get(item.id)
            if row is None:
                continue
            row.attempts = item.attempts + 1
            row.last_status_code = outcome.status_code
            now = policy.clock()
            if outcome.ok:
                row.status, row.delivered_at, row.last_error = DeliveryStatus.delivered, now, None
            elif row.attempts <= len(policy.retry_schedule) and item.live:
                row.last_error = outcome.error
                row.next_attempt_at = now + timedelta(seconds=policy.retry_schedule[row.attempts - 1])
            else:
                row.status, row.last_error = DeliveryStatus.dead, outcome.error
                log.warning("webhook_dead_letter", delivery_id=row.id, attempts=row.attempts, error=outcome.error)
            if policy.metrics is not None:
                policy.metrics.webhook_attempt(outcome=_attempt_outcome(row.status, outcome), seconds=outcome.seconds)
    return len(claimed)


async def _claim(*, db: Database, policy: WebhookPolicy) -> list[_Claimed]:
    now = policy.clock()
    claimed: list[_Claimed] = []
    async with db.transaction() as session:
        repository = WebhookRepository(session)
        for row in await repository.due(now=now, limit=policy.batch_size):
            if not await repository.claim(delivery=row, lease_until=now + timedelta(seconds=policy.lease_seconds)):
                continue
            subscription = await repository.subscription_by_id(row.subscription_id)
            live = subscription is not None and subscription.deleted_at is None
            claimed.append(
                _Claimed(
                    id=row.id,
                    url=subscription.url if subscription else "",
                    secret=policy.secrets.open(subscription.secret) if subscription else "",
                    body=row.body,
                    attempts=row.attempts,
                    live=live,
                )
            )
    return claimed


def _attempt_outcome(status: str, outcome: Outcome) -> str:
    if outcome.ok:
        return "delivered"
    return "dead" if status == DeliveryStatus.dead else "retrying"


async def _send(*, http: httpx.AsyncClient, policy: WebhookPolicy, item: _Claimed) -> Outcome:
    started = time.perf_counter()
    outcome = await _attempt(http=http, policy=policy, item=item)
    return replace(outcome, seconds=time.perf_counter() - started)


async def _attempt(*, http: httpx.AsyncClient, policy: WebhookPolicy, item: _Claimed) -> Outcome:
    if not item.live:
        return Outcome(ok=False, error="the subscription was deleted")
    try:
        await check_target(url=item.url, allowlist=policy.allowlist, resolver=policy.resolver)
    except TargetRefused as exc:
        return Outcome(ok=False, error=f"target refused: {exc}"[:MAX_ERROR])
    headers = {
        "content-type": "application/json",
        "user-agent": policy.user_agent,
        **signature_headers(secret=item.secret, msg_id=item.id, body=item.body),
    }
    try:
        resp = await http.post(
            item.url,
            content=item.body.encode("utf-8"),
            headers=headers,
            timeout=httpx.Timeout(policy.timeout),
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    if 200 <= resp.status_code < 300:
        return Outcome(ok=True, status_code=resp.status_code)
    if resp.is_redirect or 300 <= resp.status_code < 400:
        where = resp.headers.get("location", "")
        error = f"HTTP {resp.status_code}: redirect to {where!r} not followed"
        return Outcome(ok=False, status_code=resp.status_code, error=error[:MAX_ERROR])
    return Outcome(ok=False, status_code=resp.status_code, error=f"HTTP {resp.status_code}")


async def run_delivery_worker(
    *,
    db: Database,
    http: httpx.AsyncClient,
    policy: WebhookPolicy,
    max_backoff: float = 30.0,
    stop_event: asyncio.Event | None = None,
) -> None:
    """Deliver until ``stop_event`` is set (or cancelled), on the worker runtime: drain while there
    is work; idle, wake when a delivery is queued or replayed (``queue_event`` and
    ``replay_delivery`` notify after their commit), else look again after ``poll_seconds``
    doubling up to ``max_idle_seconds`` (retries that fall due, leases that run out)."""

    async def deliver_once() -> int:
        return await deliver_due(db=db, http=http, policy=policy)

    await run_worker(
        "webhook_delivery",
        deliver_once,
        wakeup=wakeup_for(db=db, topic=WEBHOOK_DELIVERIES),
        stop_event=stop_event or asyncio.Event(),
        idle_backoff=(policy.poll_seconds, max(policy.poll_seconds, policy.max_idle_seconds)),
        error_backoff=(policy.poll_seconds, max(policy.poll_seconds, max_backoff)),
    )


def webhook_delivery_worker(*, policy: Callable[[FastAPI], WebhookPolicy] | None = None) -> Any:
    """A ``create_service_app`` worker sending over the app's pooled client (``app.state.http``);
    the policy comes from the app's settings unless ``policy`` builds it."""

    async def webhook_delivery(app: FastAPI) -> None:
        resolved = policy(app) if policy else WebhookPolicy.from_settings(app.state.settings)
        resolved = replace(resolved, metrics=getattr(app.state, "metrics", None))
        await seal_subscription_secrets(db=app.state.db, box=resolved.secrets)  # rows from before encryption
        await run_delivery_worker(db=app.state.db, http=app.state.http, policy=resolved, stop_event=stop_event(app))

    return webhook_delivery


__all__: Sequence[str] = [
    "DEFAULT_RETRY_SCHEDULE",
    "WEBHOOK_DELIVERIES",
    "Outcome",
    "WebhookPolicy",
    "deliver_due",
    "run_delivery_worker",
    "webhook_delivery_worker",
]
