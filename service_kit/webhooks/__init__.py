"""Outbound webhooks to partners: Standard Webhooks signatures, an SSRF guard, a delivery table
with a retry schedule over days, dead letters and replay, and a delivery worker.

- ``service_kit.webhooks.signing``: ``new_secret``, ``sign``, ``signature_headers``, ``verify``;
- ``service_kit.webhooks.targets``: ``check_target`` (http(s) only; every resolved address public,
  unless the host is allowlisted);
- ``service_kit.webhooks.models``: ``WebhooksBase.metadata`` (pass it to ``create_service_app``);
- ``service_kit.webhooks.service``: register/list/delete subscriptions, ``queue_event``, list and
  replay deliveries, all scoped by an owner;
- ``service_kit.webhooks.secrets``: subscriptions' signing secrets sealed at rest, and re-sealed
  under a new key;
- ``service_kit.webhooks.delivery``: ``WebhookPolicy``, ``deliver_due``, ``webhook_delivery_worker``.

Importing this package opens nothing.
"""

from service_kit.webhooks.delivery import (
    DEFAULT_RETRY_SCHEDULE,
    WebhookPolicy,
    deliver_due,
    run_delivery_worker,
    webhook_delivery_worker,
)
from service_kit.webhooks.models import DeliveryStatus, WebhookDelivery, WebhooksBase, WebhookSubscription
from service_kit.webhooks.service import (
    RegisteredSubscription,
    delete_subscription,
    list_deliveries,
    list_subscriptions,
    queue_event,
    register_subscription,
    replay_delivery,
)
from service_kit.webhooks.signing import InvalidSignature, new_secret, sign, signature_headers, verify
from service_kit.webhooks.targets import TargetRefused, check_target

__all__ = [
    "DEFAULT_RETRY_SCHEDULE",
    "DeliveryStatus",
    "InvalidSignature",
    "RegisteredSubscription",
    "TargetRefused",
    "WebhookDelivery",
    "WebhookPolicy",
    "WebhookSubscription",
    "WebhooksBase",
    "check_target",
    "delete_subscription",
    "deliver_due",
    "list_deliveries",
    "list_subscriptions",
    "new_secret",
    "queue_event",
    "register_subscription",
    "replay_delivery",
    "run_delivery_worker",
    "sign",
    "signature_headers",
    "verify",
    "webhook_delivery_worker",
]
