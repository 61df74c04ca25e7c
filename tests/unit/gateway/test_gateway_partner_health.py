"""GET /admin/partner-health: each partner's calls, server errors, refusals, 429s and latency
per time bucket, from the audit log; operators only (an internal client's ops token), a 404
problem for anyone else."""

from __future__ import annotations

import time

from gateway.models import AuditRecord
from tests.unit.gateway.conftest import Gateway


async def add_calls(gateway: Gateway, *calls: tuple[float, str | None, int, float]) -> None:
    async with gateway.app.state.db.transaction() as session:
        for at, partner, status, latency in calls:
            session.add(
                AuditRecord(
                    at=at, client_id=partner, partner_id=partner, method="GET", api="marketplace", version="v1",
                    operation="getOrder", path="/marketplace/v1/orders/1", status=status, latency_ms=latency,
                    correlation_id="c",
                )
            )  # fmt: skip


async def operator(gateway: Gateway) -> dict[str, str]:
    client_id, secret = await gateway.register(client_id="ops-alice", kind="internal", scopes=["ops"])
    return {"Authorization": f"Bearer {await gateway.token(client_id, secret)}"}


async def test_partner_traffic_is_counted_per_bucket_for_an_operator(gateway: Gateway) -> None:
    start = (int(time.time()) // 60 - 2) * 60  # a bucket two minutes ago
    await add_calls(
        gateway,
        (start + 1, "acme-market", 200, 10.0),
        (start + 2, "acme-market", 502, 30.0),
        (start + 3, "acme-market", 429, 2.0),
        (start + 4, "acme-market", 422, 4.0),
        (start + 61, "acme-market", 200, 8.0),
        (start + 5, "zenith-market", 200, 6.0),
        (start + 6, None, 200, 1.0),  # no partner: an internal call, not counted
        (start - 7200, "acme-market", 500, 1.0),  # before the window
    )
    resp = await gateway.client.get(
        "/admin/partner-health", params={"minutes": 10, "bucket_seconds": 60}, headers=await operator(gateway)
    )
    assert resp.status_code == 200, resp.text
    partners = {p["partner_id"]: p["buckets"] for p in resp.json()["partners"]}
    assert sorted(partners) == ["acme-market", "zenith-market"]
    first, second = partners["acme-market"]
    assert first == {
        "start": start,
        "calls": 4,
        "server_errors": 1,
        "refused": 1,
        "throttled": 1,
        "mean_latency_ms": 11.5,
        "max_latency_ms": 30.0,
    }
    assert (second["start"], second["calls"], second["server_errors"]) == (start + 60, 1, 0)
    assert [b["calls"] for b in partners["zenith-market"]] == [1]


async def test_a_partner_gets_the_404_problem_of_a_path_that_is_not_there(gateway: Gateway) -> None:
    for headers in (await gateway.partner_bearer(), {}):
        resp = await gateway.client.get("/admin/partner-health", headers=headers)
        assert resp.status_code == 404
        assert resp.headers["content-type"] == "application/problem+json"
        assert "partners" not in resp.text
