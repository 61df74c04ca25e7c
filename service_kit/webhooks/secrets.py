"""Subscriptions' signing secrets at rest: sealed with the service's ``SecretBox``
(``service_kit.secrets``) when a subscription is registered and opened just before a delivery is
signed, so a raw read of the database gives no secret.

``seal_subscription_secrets`` seals rows an older version stored in clear (the delivery worker
runs it when it starts); ``reseal_subscription_secrets`` re-encrypts every secret under the
newest key (``interchange secrets rotate``).
"""

from __future__ import annotations

import structlog

from service_kit.db import Database
from service_kit.secrets import SecretBox, is_sealed
from service_kit.webhooks.repository import WebhookRepository

log = structlog.get_logger("service_kit.webhooks")


async def seal_subscription_secrets(*, db: Database, box: SecretBox) -> int:
    """Seal the secrets stored in clear; returns how many."""
    async with db.transaction() as session:
        clear = [s for s in await WebhookRepository(session).all_subscriptions() if not is_sealed(s.secret)]
        for subscription in clear:
            subscription.secret = box.seal(subscription.secret)
    if clear:
        log.info("webhook_secrets_sealed", count=len(clear))
    return len(clear)


async def reseal_subscription_secrets(*, db: Database, box: SecretBox) -> int:
    """Re-encrypt every subscription's secret under the newest key; returns how many."""
    async with db.transaction() as session:
        subscriptions = await WebhookRepository(session).all_subscriptions()
        for subscription in subscriptions:
            subscription.secret = box.reseal(subscription.secret)
    return len(subscriptions)


async def subscription_secrets_sealed_with_newest(*, db: Database, box: SecretBox) -> bool:
    """Whether the newest key alone opens every secret (older keys can be retired)."""
    async with db.transaction() as session:
        subscriptions = await WebhookRepository(session).all_subscriptions()
        return all(box.opens_with_newest_only(s.secret) for s in subscriptions)


__all__ = ["reseal_subscription_secrets", "seal_subscription_secrets", "subscription_secrets_sealed_with_newest"]
