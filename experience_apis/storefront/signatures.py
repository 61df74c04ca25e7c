"""The storefront signs each webhook as Shopify does: HMAC-SHA256 of the raw request body with the
shop's webhook secret, base64, in ``X-Storefront-Hmac-Sha256``. Checked over the exact bytes
received (before any parsing) and compared in constant time. The standard library's ``hmac`` is
the whole mechanism: there is nothing more to a library for it."""

from __future__ import annotations

import base64
import hashlib
import hmac


def signature(*, secret: str, body: bytes) -> str:
    """The header value the storefront sends for ``body``."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def is_signed_by(*, secret: str, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    return hmac.compare_digest(signature(secret=secret, body=body).encode("ascii"), header.strip().encode("utf-8"))
