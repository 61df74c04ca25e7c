"""fulfillment.requested as a signed webhook to the request's partner: the consumer queues one
delivery per subscription of that partner (and none for another partner's request), once per event."""

from __future__ import annotations

import json

from sqlalchemy import select

from contracts.events import FulfillmentRequestedV1
from experience_apis.fulfillment_partners.webhooks import GROUP, announce_request
from service_kit.events import new_event
from service_kit.events.batch import apply_events, each_event
from service_kit.webhooks import WebhookDelivery
from tests.unit.experience_apis.fulfillment_partners.conftest import HOOKS, NORTHWIND, Partners


def requested(request_id: str, *, partner: str = "northwind-3pl") -> FulfillmentRequestedV1:
    return FulfillmentRequestedV1(
        request_id=request_id,
        order_id="ord_1",
        channel="marketplace",
        channel_order_id="ACME-1",
        partner=partner,
        warehouse="WH-3PL",
        lines=[{"line_no": 1, "sku": "WIDGET-BLUE", "quantity": "3"}],
    )


async def test_a_new_request_is_queued_once_for_each_subscription_of_its_partner_only(partners: Partners) -> None:
    created = await partners.client.post(
        "/v1/webhooks",
        json={"url": f"https://{HOOKS}/in", "event_types": ["fulfillment.requested"]},
        headers=NORTHWIND,
    )
    assert created.status_code == 201, created.text
    assert created.json()["secret"].startswith("whsec_")
    mine = new_event(data=requested("fr_9"), source="/fulfillment", subject="fulfillment-request/fr_9")
    theirs = new_event(data=requested("fr_8", partner="southwind-3pl"), source="/fulfillment", subject="x/fr_8")

    handler = each_event(announce_request)
    for event in (mine, theirs, mine):  # the first delivered twice by the bus: applied once
        await apply_events(db=partners.app.state.db, group=GROUP, events=[event], handler=handler)

    async with partners.app.state.db.sessions() as session:
        rows = (await session.execute(select(WebhookDelivery))).scalars().all()
    assert [(r.owner, r.event_type) for r in rows] == [("northwind-3pl", "fulfillment.requested")]
    body = json.loads(rows[0].body)
    assert body["type"] == "fulfillment.requested"
    assert body["data"]["request_id"] == "fr_9"
    assert body["data"]["items"] == [{"line": 1, "sku": "WIDGET-BLUE", "qty": 3, "shipped_qty": 0}]

    listed = await partners.client.get(f"/v1/webhooks/{created.json()['id']}/deliveries", headers=NORTHWIND)
    assert [d["event_type"] for d in listed.json()["items"]] == ["fulfillment.requested"]


async def test_a_private_target_is_refused_at_the_url(partners: Partners) -> None:
    resp = await partners.client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/in", "event_types": ["fulfillment.requested"]},
        headers=NORTHWIND,
    )

    assert resp.status_code == 422
    assert resp.json()["errors"][0]["pointer"] == "#/url"
