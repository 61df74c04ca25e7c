"""Signatures verify with the documented algorithm; a tampered body, id or timestamp does not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from service_kit.webhooks import InvalidSignature, new_secret, signature_headers, verify

BODY = '{"type":"availability.changed","timestamp":"2026-01-01T00:00:00+00:00","data":{"seller_sku":"ACME-WB"}}'


def test_the_signature_is_the_documented_hmac() -> None:
    secret = new_secret()
    headers = signature_headers(secret=secret, msg_id="msg_1", body=BODY)
    # docs/webhooks.md, by hand: HMAC-SHA256 with the decoded secret over "{id}.{timestamp}.{body}".
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{BODY}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    verify(secret=secret, body=BODY, headers=headers)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b.replace("ACME-WB", "ACME-WR")),
        lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b),
        lambda h, b: ({**h, "webhook-id": "msg_2"}, b),
        lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
    ],
    ids=["body", "timestamp", "id", "missing-signature"],
)
def test_tampering_fails(tamper: object) -> None:
    secret = new_secret()
    headers, body = tamper(signature_headers(secret=secret, msg_id="msg_1", body=BODY), BODY)  # type: ignore[operator]
    with pytest.raises(InvalidSignature):
        verify(secret=secret, body=body, headers=headers)


def test_another_secret_or_an_old_timestamp_fails() -> None:
    secret = new_secret()
    with pytest.raises(InvalidSignature):
        verify(secret=new_secret(), body=BODY, headers=signature_headers(secret=secret, msg_id="m", body=BODY))
    stale = signature_headers(secret=secret, msg_id="m", body=BODY, timestamp=int(time.time()) - 3600)
    with pytest.raises(InvalidSignature):
        verify(secret=secret, body=BODY, headers=stale)


def test_secrets_are_whsec_base64_and_fresh() -> None:
    a, b = new_secret(), new_secret()
    assert a.startswith("whsec_") and a != b
    assert len(base64.b64decode(a.removeprefix("whsec_"))) == 24
