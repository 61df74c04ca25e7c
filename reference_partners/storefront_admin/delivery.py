"""The shop's order webhooks out: the whole order as JSON, signed as Shopify signs it (base64
HMAC-SHA256 of the raw body with the webhook secret, ``X-Storefront-Hmac-Sha256``), with its
webhook id, shop domain and topic in headers.

A failed delivery (no answer, a 5xx, a 429, or a 409 "still being taken in") is tried again with an
exponential backoff (tenacity), under the same webhook id, so the receiver can tell a retry from a
new event; any other answer is final. Every attempt and its answer is kept (``webhook_deliveries``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx
import structlog
from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_attempt, wait_exponential

from reference_partners.storefront_admin.settings import ShopSettings
from reference_partners.storefront_admin.storage import Store

log = structlog.get_logger("reference_partners.storefront_admin")

RETRIED_STATUSES = frozenset({409, 429})


class _NotDelivered(Exception):
    """This attempt failed in a way worth another."""


def sign(*, secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


async def deliver(
    *, http: httpx.AsyncClient, store: Store, settings: ShopSettings, topic: str, order: dict[str, Any]
) -> None:
    webhook_id = str(uuid.uuid4())
    body = json.dumps(order).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "X-Storefront-Webhook-Id": webhook_id,
        "X-Storefront-Shop-Domain": settings.shop_domain,
        "X-Storefront-Topic": topic,
    }
    secret = settings.webhook_secret.get_secret_value()
    if secret:
        headers["X-Storefront-Hmac-Sha256"] = sign(secret=secret, body=body)
    retrying = AsyncRetrying(
        stop=stop_after_attempt(settings.delivery_attempts),
        wait=wait_exponential(multiplier=settings.delivery_backoff_seconds, max=settings.delivery_backoff_max_seconds),
        retry=retry_if_exception_type(_NotDelivered),
    )
    try:
        async for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                try:
                    resp = await http.post(
                        settings.webhook_url, content=body, headers=headers, timeout=settings.delivery_timeout_seconds
                    )
                except httpx.HTTPError as exc:
                    await asyncio.to_thread(
                        store.add_attempt,
                        webhook_id=webhook_id, topic=topic, order_id=order["id"], attempt=number,
                        status_code=None, response=None, error=f"{type(exc).__name__}: {exc}",
                    )  # fmt: skip
                    raise _NotDelivered from exc
                await asyncio.to_thread(
                    store.add_attempt,
                    webhook_id=webhook_id, topic=topic, order_id=order["id"], attempt=number,
                    status_code=resp.status_code, response=resp.text[:2000], error=None,
                )  # fmt: skip
                if resp.status_code >= 500 or resp.status_code in RETRIED_STATUSES:
                    raise _NotDelivered
    except RetryError:
        log.warning("webhook not delivered", webhook_id=webhook_id, topic=topic, order_id=order["id"])
