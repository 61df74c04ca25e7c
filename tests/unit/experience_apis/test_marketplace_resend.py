"""What a resend answers (issue 10 item 14). The same order sent again without an Idempotency-Key,
or under a new key, answers the same order reference with the order's current status; a retry
under the same key replays the first answer as it was (the kit's idempotency semantics)."""

from __future__ import annotations

from tests.unit.experience_apis.conftest import Marketplace
from tests.unit.experience_apis.marketplace_fakes import ACME, order_body, order_body_v2


async def test_a_resend_without_a_key_answers_the_current_status(marketplace: Marketplace) -> None:
    first = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)
    assert first.json()["order_status"] == "PENDING"
    marketplace.orders.accept(first.json()["order_reference"], erp_order_number="SO-000042")

    again = await marketplace.client.post("/v1/orders", json=order_body(), headers=ACME)

    assert again.status_code == 202
    assert again.json() == {**first.json(), "order_status": "ACCEPTED"}
    assert again.headers["location"] == first.headers["location"]
    assert len(marketplace.orders.posted()) == 1  # taken in once


async def test_a_new_key_answers_the_current_status_and_the_same_key_replays_the_first_answer(
    marketplace: Marketplace,
) -> None:
    first = await marketplace.client.post(
        "/v2/orders", json=order_body_v2(), headers={**ACME, "Idempotency-Key": "acme-1"}
    )
    marketplace.orders.accept(first.json()["order_reference"], erp_order_number="SO-000042")

    replay = await marketplace.client.post(
        "/v2/orders", json=order_body_v2(), headers={**ACME, "Idempotency-Key": "acme-1"}
    )
    resend = await marketplace.client.post(
        "/v2/orders", json=order_body_v2(), headers={**ACME, "Idempotency-Key": "acme-2"}
    )

    assert replay.json() == first.json() and first.json()["order_status"] == "PENDING"
    assert resend.json() == {**first.json(), "order_status": "ACCEPTED"}
    assert len(marketplace.orders.posted()) == 1
