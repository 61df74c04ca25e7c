"""The kit's problem+json handler: 405 answers name every method the path accepts."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import APIRouter

from service_kit.app import create_service_app
from service_kit.settings import ServiceSettings
from tests.support.tokens import static_verifier
from tests.unit.gateway.conftest import MARKETPLACE_V1, gateway_settings, running_gateway, write_contract


async def test_405_on_a_service_route_lists_every_method_of_the_path(tmp_path: Path) -> None:
    router = APIRouter(prefix="/v1")

    @router.get("/things")
    async def list_things() -> list[str]:
        return []

    @router.post("/things", status_code=201)
    async def create_thing() -> dict[str, str]:
        return {}

    settings = ServiceSettings.load("kit", data_dir=tmp_path, log_json=False)
    app = create_service_app(settings, title="kit", description="kit", routers=[router], verifier=static_verifier())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit.test") as client:
        resp = await client.delete("/v1/things")
    assert resp.status_code == 405
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.headers["allow"] == "GET, POST"
    assert resp.json()["status"] == 405
    assert resp.json()["detail"] == "/v1/things does not accept DELETE; it accepts GET, POST."


async def test_405_on_the_gateways_own_routes_lists_their_methods(tmp_path: Path) -> None:
    write_contract(tmp_path / "contracts", "marketplace", "v1", MARKETPLACE_V1)
    async with running_gateway(gateway_settings(tmp_path, tmp_path / "contracts")) as gw:
        jwks = await gw.client.post("/.well-known/jwks.json")
        token = await gw.client.get("/oauth2/token")
    assert (jwks.status_code, jwks.headers["allow"]) == (405, "GET")
    assert (token.status_code, token.headers["allow"]) == (405, "POST")
