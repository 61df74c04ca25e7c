"""Standard Webhooks signatures (https://www.standardwebhooks.com/), through the reference
``standardwebhooks`` package rather than a hand-written HMAC.

Every delivery carries three headers:

- ``webhook-id``: the delivery id, the same on every retry of one delivery (receivers dedupe on it);
- ``webhook-timestamp``: Unix seconds when this attempt was signed;
- ``webhook-signature``: ``v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>``, where ``key``
  is the base64-decoded part of the subscription's secret ``whsec_<base64>``.

``verify`` is what a partner runs (``docs/webhooks.md``); tests use it too.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET_PREFIX = "whsec_"  # noqa: S105 - the standard's prefix, not a secret
#: 24 random bytes, as Standard Webhooks suggests (between 24 and 64).
SECRET_BYTES = 24


class InvalidSignature(Exception):
    """The headers are missing, the timestamp is outside the tolerance, or no signature matches."""


def new_secret() -> str:
    """A fresh signing secret, ``whsec_<base64 of 24 random bytes>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The ``webhook-signature`` value, ``v1,<base64 HMAC-SHA256 over "{id}.{timestamp}.{body}">``."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return Webhook(secret).sign(msg_id=msg_id, timestamp=datetime.fromtimestamp(timestamp, tz=UTC), data=text)


def signature_headers(*, secret: str, msg_id: str, body: bytes | str, timestamp: int | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt (signed now unless ``timestamp``)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret=secret, msg_id=msg_id, timestamp=ts, body=body),
    }


def verify(*, secret: str, body: bytes | str, headers: Mapping[str, str]) -> None:
    """Raise ``InvalidSignature`` unless ``headers`` sign ``body`` with ``secret`` and the timestamp
    is within five minutes of now (the replay window of the standard)."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        Webhook(secret).verify(text, dict(headers.items()), json_parse=False)
    except (WebhookVerificationError, ValueError) as exc:  # a malformed header is a ValueError
        raise InvalidSignature(str(exc) or "invalid signature") from exc


__all__ = ["SECRET_PREFIX", "InvalidSignature", "new_secret", "sign", "signature_headers", "verify"]
