from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.types import Message

from gateway.clients import disable_client
from service_kit.auth import TokenVerifier
from tests.unit.gateway.conftest import GATEWAY_URL, PARTNER_SCOPES, Gateway, gateway_settings, running_gateway

GRANT = {"grant_type": "client_credentials"}


async def test_basic_auth_gets_an_rfc9068_access_token_services_accept(gateway: Gateway) -> None:
    client_id, secret = await gateway.register_partner("acme-market")

    resp = await gateway.client.post("/oauth2/token", data=GRANT, auth=(client_id, secret))

    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == " ".join(PARTNER_SCOPES)
    jwks = await gateway.jwks()
    decoded = jwt.decode(body["access_token"], KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.header["alg"] == "RS256"
    assert decoded.header["kid"] in {k["kid"] for k in jwks["keys"]}
    claims = decoded.claims
    assert claims["iss"] == GATEWAY_URL
    assert claims["aud"] == "interchange"
    assert claims["sub"] == claims["client_id"] == "acme-market"
    assert claims["scope"] == " ".join(PARTNER_SCOPES)
    assert claims["kind"] == "partner"
    assert claims["tier"] == "standard"
    assert claims["partner_id"] == "acme-market"
    assert claims["channel"] == "marketplace"
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"]
    verifier = TokenVerifier(issuer=GATEWAY_URL, audience="interchange", keys=KeySet.import_key_set(jwks))
    assert await verifier.verify(body["access_token"]) == claims


async def test_client_secret_post_works_and_a_service_token_has_no_partner(gateway: Gateway) -> None:
    client_id, secret = await gateway.register(
        client_id="svc-marketplace", kind="service", scopes=["orders:write", "orders:read"], tier="internal"
    )

    resp = await gateway.client.post("/oauth2/token", data=GRANT | {"client_id": client_id, "client_secret": secret})

    assert resp.status_code == 200, resp.text
    claims = jwt.decode(resp.json()["access_token"], KeySet.import_key_set(await gateway.jwks())).claims
    assert claims["client_id"] == "svc-marketplace"
    assert claims["scope"] == "orders:write orders:read"
    assert claims["tier"] == "internal"
    assert claims["kind"] == "service"
    assert "partner_id" not in claims
    assert "channel" not in claims


async def test_unknown_client_and_wrong_secret_get_the_same_answer(gateway: Gateway) -> None:
    client_id, _ = await gateway.register_partner("acme-market")

    answers = [
        await gateway.client.post("/oauth2/token", data=GRANT, auth=(client_id, "wrong-secret")),
        await gateway.client.post("/oauth2/token", data=GRANT, auth=("no-such-client", "wrong-secret")),
        await gateway.client.post(
            "/oauth2/token", data=GRANT | {"client_id": client_id, "client_secret": "wrong-secret"}
        ),
        await gateway.client.post(
            "/oauth2/token", data=GRANT | {"client_id": "no-such-client", "client_secret": "wrong-secret"}
        ),
    ]

    assert {r.status_code for r in answers} == {401}
    assert {r.headers["cache-control"] for r in answers} == {"no-store"}  # errors too, not only tokens
    assert all(
        r.json() == {"error": "invalid_client", "error_description": "Client authentication failed."} for r in answers
    )
    assert len({r.headers["www-authenticate"] for r in answers}) == 1


async def test_a_disabled_client_gets_no_token(gateway: Gateway) -> None:
    client_id, secret = await gateway.register_partner("acme-market")
    wrong = await gateway.client.post("/oauth2/token", data=GRANT, auth=(client_id, "wrong-secret"))
    await disable_client(gateway.app.state.db, client_id)

    resp = await gateway.client.post("/oauth2/token", data=GRANT, auth=(client_id, secret))

    assert resp.status_code == 401
    assert resp.json() == wrong.json()


async def test_scope_can_be_narrowed_but_not_widened(gateway: Gateway) -> None:
    client_id, secret = await gateway.register_partner("acme-market")

    narrowed = await gateway.client.post(
        "/oauth2/token", data=GRANT | {"scope": "marketplace:orders.read"}, auth=(client_id, secret)
    )
    not_granted = await gateway.client.post(
        "/oauth2/token", data=GRANT | {"scope": "marketplace:orders.read erp:read"}, auth=(client_id, secret)
    )
    unknown = await gateway.client.post("/oauth2/token", data=GRANT | {"scope": "nope"}, auth=(client_id, secret))

    assert narrowed.status_code == 200
    assert narrowed.json()["scope"] == "marketplace:orders.read"
    claims = jwt.decode(narrowed.json()["access_token"], KeySet.import_key_set(await gateway.jwks())).claims
    assert claims["scope"] == "marketplace:orders.read"
    for refused in (not_granted, unknown):
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_scope"


async def test_other_grant_types_are_refused(gateway: Gateway) -> None:
    client_id, secret = await gateway.register_partner("acme-market")

    resp = await gateway.client.post("/oauth2/token", data={"grant_type": "password"}, auth=(client_id, secret))

    assert resp.status_code == 400
    assert resp.json()["error"] == "unsupported_grant_type"


async def test_token_lifetime_comes_from_the_settings(tmp_path: Path, contracts_dir: Path) -> None:
    async with running_gateway(gateway_settings(tmp_path, contracts_dir, token_lifetime=120)) as gw:
        client_id, secret = await gw.register_partner("acme-market")
        resp = await gw.client.post("/oauth2/token", data=GRANT, auth=(client_id, secret))
        claims = jwt.decode(resp.json()["access_token"], KeySet.import_key_set(await gw.jwks())).claims

    assert resp.json()["expires_in"] == 120
    assert claims["exp"] - claims["iat"] == 120


async def test_jwks_publishes_public_keys_only(gateway: Gateway) -> None:
    jwks = await gateway.jwks()

    assert len(jwks["keys"]) == 1
    key = jwks["keys"][0]
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert key["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


async def test_metadata_describes_the_authorization_server(gateway: Gateway) -> None:
    resp = await gateway.client.get("/.well-known/oauth-authorization-server")

    assert resp.status_code == 200
    meta = resp.json()
    assert meta["issuer"] == GATEWAY_URL
    assert meta["token_endpoint"] == f"{GATEWAY_URL}/oauth2/token"
    assert meta["jwks_uri"] == f"{GATEWAY_URL}/.well-known/jwks.json"
    assert meta["grant_types_supported"] == ["client_credentials"]
    assert meta["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post"]
    assert set(PARTNER_SCOPES) <= set(meta["scopes_supported"])


class Upload:
    """A token request body offered to the app chunk by chunk, counting what the app read."""

    def __init__(self, chunk: bytes, chunks: int) -> None:
        self.chunk, self.left, self.read = chunk, chunks, 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if self.left == 0:
            return {"type": "http.disconnect"}
        self.left -= 1
        self.read += len(self.chunk)
        return {"type": "http.request", "body": self.chunk, "more_body": self.left > 0}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def post(self, app: Any, headers: list[tuple[bytes, bytes]]) -> tuple[int, dict[str, Any]]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/oauth2/token",
            "raw_path": b"/oauth2/token",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"gateway.test"), (b"content-type", b"application/x-www-form-urlencoded"), *headers],
            "client": ("192.0.2.1", 40000),
            "server": ("gateway.test", 80),
        }
        await app(scope, self.receive, self.send)
        body = b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")
        return self.sent[0]["status"], json.loads(body)


async def test_a_token_request_declaring_a_large_body_is_refused_before_a_byte_is_read(gateway: Gateway) -> None:
    upload = Upload(b"a" * 65_536, chunks=160)  # 10 MiB

    status, problem = await upload.post(gateway.app, [(b"content-length", str(10 * 1024 * 1024).encode())])

    assert status == 413
    assert upload.read == 0
    assert problem["type"] == "urn:interchange:problem:payload-too-large"
    assert "8192 bytes" in problem["detail"]


async def test_a_chunked_token_request_is_cut_off_past_the_small_cap(gateway: Gateway) -> None:
    upload = Upload(b"grant_type=client_credentials&" + b"a" * 4066, chunks=2_560)  # 4 KiB x 2,560: 10 MiB

    status, problem = await upload.post(gateway.app, [(b"transfer-encoding", b"chunked")])

    assert status == 413
    assert upload.read <= 3 * 4096  # the cap (8 KiB) and the chunk that passed it
    assert problem["status"] == 413


async def test_basic_auth_plus_credentials_in_the_form_is_invalid_request(gateway: Gateway) -> None:
    client_id, secret = await gateway.register_partner("acme-market")
    both = GRANT | {"client_id": client_id, "client_secret": secret}

    two_methods = await gateway.client.post("/oauth2/token", data=both, auth=(client_id, secret))
    other_id = await gateway.client.post("/oauth2/token", data=GRANT | {"client_id": "x"}, auth=(client_id, secret))
    same_id = await gateway.client.post(
        "/oauth2/token", data=GRANT | {"client_id": client_id}, auth=(client_id, secret)
    )

    assert two_methods.status_code == other_id.status_code == 400
    assert two_methods.json()["error"] == other_id.json()["error"] == "invalid_request"
    assert "one client authentication method" in two_methods.json()["error_description"]
    assert same_id.status_code == 200  # the Basic id repeated in the form is one method


async def test_a_parameter_sent_twice_is_invalid_request(gateway: Gateway) -> None:
    client_id, secret = await gateway.register_partner("acme-market")
    form = "grant_type=client_credentials&scope=marketplace%3Aorders.read&scope=marketplace%3Aorders.write"

    resp = await gateway.client.post(
        "/oauth2/token",
        content=form,
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=(client_id, secret),
    )

    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_request"
    assert "scope" in resp.json()["error_description"]
