"""An external issuer instead of the built-in one: the gateway verifies the issuer's tokens against
its JWKS (fetched, cached, refetched at most once per 30 s for an unknown kid) and issues none."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from joserfc.jwk import KeySet, RSAKey

from gateway.app import create_app
from service_kit.http import RoutingTransport
from tests.security.forge import claims_for, rs256
from tests.unit.gateway.conftest import FakeService, gateway_settings, running_gateway

ISSUER = "http://idp.test/realms/interchange"
JWKS_URL = "http://idp.test/realms/interchange/certs"


class IdentityProvider:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, {"alg": "RS256", "use": "sig", "kid": "idp-1"}, private=True)
        self.fetches = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == JWKS_URL
        self.fetches += 1
        return httpx.Response(200, json=KeySet([self.key]).as_dict(private=False))

    def token(self, *, kid: str = "idp-1", issuer: str = ISSUER) -> str:
        claims = claims_for(
            issuer=issuer, client_id="acme-market", scope="marketplace:orders.read", partner_id="acme-market"
        )
        return rs256(self.key, {"alg": "RS256", "typ": "at+jwt", "kid": kid}, claims)


async def test_tokens_of_the_external_issuer_are_verified_against_its_jwks(tmp_path: Path, contracts_dir: Path) -> None:
    idp, service = IdentityProvider(), FakeService()
    transport = RoutingTransport(
        {"idp.test": httpx.MockTransport(idp.handle), "marketplace.test": httpx.ASGITransport(app=service)}
    )
    settings = gateway_settings(tmp_path, contracts_dir, external_issuer=True, issuer=ISSUER, jwks_url=JWKS_URL)

    async with running_gateway(settings, transport) as gw:
        accepted = await gw.client.get("/marketplace/v1/orders", headers={"Authorization": f"Bearer {idp.token()}"})
        wrong_issuer = await gw.client.get(
            "/marketplace/v1/orders", headers={"Authorization": f"Bearer {idp.token(issuer='http://other.test')}"}
        )
        unknown_kid = [
            await gw.client.get("/marketplace/v1/orders", headers={"Authorization": f"Bearer {idp.token(kid='k9')}"})
            for _ in range(5)
        ]
        no_token_endpoint = await gw.client.post("/oauth2/token", data={"grant_type": "client_credentials"})
        no_jwks = await gw.client.get("/.well-known/jwks.json")
        no_metadata = await gw.client.get("/.well-known/oauth-authorization-server")

    assert accepted.status_code == 200, accepted.text
    assert len(service.seen) == 1
    assert wrong_issuer.status_code == 401
    assert [r.status_code for r in unknown_kid] == [401] * 5
    assert idp.fetches == 1  # the first fetch was moments ago: unknown kids do not refetch each request
    for resp in (no_token_endpoint, no_jwks, no_metadata):
        assert resp.status_code in (404, 405)
        assert resp.headers["content-type"] == "application/problem+json"


def test_an_external_issuer_needs_its_own_jwks_url(tmp_path: Path, contracts_dir: Path) -> None:
    settings = gateway_settings(tmp_path, contracts_dir, external_issuer=True, issuer=ISSUER)

    with pytest.raises(ValueError, match="JWKS_URL"):
        create_app(settings)
