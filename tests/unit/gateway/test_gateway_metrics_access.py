"""The gateway's /metrics is for operators: an internal client's ops token reads it; a partner,
a caller without a token or an internal client without the ops scope gets the 404 problem of a
path that is not there (nothing in it names the gateway's routes or clients)."""

from __future__ import annotations

import httpx
import pytest

from tests.unit.gateway.conftest import Gateway


async def bearer_of(gateway: Gateway, client_id: str, *, kind: str, scopes: list[str], **extra: str) -> dict[str, str]:
    cid, secret = await gateway.register(client_id=client_id, kind=kind, scopes=scopes, **extra)
    return {"Authorization": f"Bearer {await gateway.token(cid, secret)}"}


def assert_not_there(resp: httpx.Response) -> None:
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["detail"] == "There is nothing at /metrics."
    assert "interchange_" not in resp.text


async def test_a_partner_token_gets_a_404_problem(gateway: Gateway) -> None:
    assert_not_there(await gateway.client.get("/metrics", headers=await gateway.partner_bearer()))


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic b3BzOm9wcw=="}],
    ids=["no token", "bad token", "not bearer"],
)
async def test_no_valid_token_gets_a_404_problem(gateway: Gateway, headers: dict[str, str]) -> None:
    assert_not_there(await gateway.client.get("/metrics", headers=headers))


async def test_ops_scope_alone_or_an_internal_client_alone_is_not_enough(gateway: Gateway) -> None:
    internal = await bearer_of(gateway, "reporting", kind="internal", scopes=["orders:read"])
    partner_with_ops = await bearer_of(
        gateway, "sneaky", kind="partner", scopes=["ops"], partner_id="sneaky", channel="marketplace"
    )

    assert_not_there(await gateway.client.get("/metrics", headers=internal))
    assert_not_there(await gateway.client.get("/metrics", headers=partner_with_ops))


async def test_an_operator_reads_the_metrics(gateway: Gateway) -> None:
    ops = await bearer_of(gateway, "prometheus", kind="internal", scopes=["ops"])

    resp = await gateway.client.get("/metrics", headers=ops)

    assert resp.status_code == 200
    assert "# TYPE interchange_http_requests_total counter" in resp.text
