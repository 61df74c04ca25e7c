"""Two 3PL partners' ASN numbers are theirs alone: the same number from two partners is two
shipments, each partner reads its own and never learns that the other's exists (issue 11 review)."""

from __future__ import annotations

import json

from experience_apis.fulfillment_partners.models import FulfillmentPartner
from tests.support.tokens import Bearer
from tests.unit.experience_apis.fulfillment_partners.conftest import NORTHWIND, SCOPES, Partners
from tests.unit.experience_apis.fulfillment_partners.test_requests_and_shipments import asn, keyed

SOUTHWIND = Bearer(*SCOPES, client_id="southwind-3pl", partner_id="southwind-3pl")


async def _set_up_southwind(partners: Partners) -> None:
    async with partners.app.state.db.transaction() as session:
        session.add(FulfillmentPartner(partner_id="southwind-3pl", warehouse="WH-3PL", name="Southwind"))


async def test_two_partners_may_use_the_same_asn_number_and_each_reads_its_own(partners: Partners) -> None:
    await _set_up_southwind(partners)

    north = await partners.client.post("/v1/shipments", json=asn("ASN-7"), headers=keyed("n-1"))
    south = await partners.client.post(
        "/v1/shipments", json=asn("ASN-7", request_id="fr_other"), headers=keyed("s-1", SOUTHWIND)
    )

    assert north.status_code == 202, north.text
    assert south.status_code == 202, south.text
    assert north.json()["asn_number"] == south.json()["asn_number"] == "ASN-7"
    assert north.json()["status_url"] == "/fulfillment_partners/v1/shipments/ASN-7"
    sent = [json.loads(r.content)["shipment_id"] for r in partners.fulfillment.received if r.method == "POST"]
    assert sent == ["northwind-3pl:ASN-7", "southwind-3pl:ASN-7"]
    mine = await partners.client.get("/v1/shipments/ASN-7", headers=NORTHWIND)
    theirs = await partners.client.get("/v1/shipments/ASN-7", headers=SOUTHWIND)
    assert mine.status_code == theirs.status_code == 200
    assert (mine.json()["asn_number"], mine.json()["order_reference"]) == ("ASN-7", "ord_1")
    assert (theirs.json()["asn_number"], theirs.json()["order_reference"]) == ("ASN-7", "ord_2")


async def test_another_partners_asn_number_reads_as_unknown(partners: Partners) -> None:
    await _set_up_southwind(partners)
    await partners.client.post(
        "/v1/shipments", json=asn("ASN-8", request_id="fr_other"), headers=keyed("s-2", SOUTHWIND)
    )

    resp = await partners.client.get("/v1/shipments/ASN-8", headers=NORTHWIND)

    assert resp.status_code == 404
    assert "southwind" not in resp.text
