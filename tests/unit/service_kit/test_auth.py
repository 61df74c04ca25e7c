"""TokenVerifier, as every service uses it: the attacks of tests/security refused directly, the
JWKS fetched on first use and again at most once per 30 s (never per request), verified tokens
cached until they expire."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from joserfc.jwk import KeySet, RSAKey

from service_kit.auth import JWKS_FIRST_FETCH_RETRY, JWKS_REFETCH_INTERVAL, SigningKeysUnavailable, TokenVerifier
from service_kit.errors import Unauthorized, UpstreamUnavailable
from tests.security.test_jwt_attacks import ATTACKS, Forger
from tests.unit.gateway.conftest import GATEWAY_URL

JWKS_URL = "http://issuer.test/.well-known/jwks.json"


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, {"alg": "RS256", "use": "sig", "kid": kid}, private=True)


def jwks(*keys: RSAKey) -> dict[str, Any]:
    return dict(KeySet(list(keys)).as_dict(private=False))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class KeyServer:
    """A JWKS endpoint that counts its fetches; ``keys`` may change between them."""

    def __init__(self, *keys: RSAKey) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.status = 200

    def handle(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == JWKS_URL
        self.fetches += 1
        if self.status != 200:
            return httpx.Response(self.status, text="down")
        return httpx.Response(200, json=jwks(*self.keys))


@pytest.fixture
def key() -> RSAKey:
    return new_key("k1")


@pytest.fixture
def forger(key: RSAKey) -> Forger:
    return Forger(key=key, kid="k1")


def fetching(server: KeyServer, clock: Clock) -> TokenVerifier:
    http = httpx.AsyncClient(transport=httpx.MockTransport(server.handle))
    return TokenVerifier(issuer=GATEWAY_URL, audience="interchange", jwks_url=JWKS_URL, http=http, clock=clock)


@pytest.mark.parametrize("forge", [a[1] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
async def test_every_attack_is_refused_by_the_verifier_itself(forger: Forger, forge: Callable[[Forger], str]) -> None:
    verifier = TokenVerifier(issuer=GATEWAY_URL, audience="interchange", keys=KeySet.import_key_set(jwks(forger.key)))

    with pytest.raises(Unauthorized):
        await verifier.verify(forge(forger))
    assert (await verifier.verify(forger.token()))["client_id"] == "acme-market"  # the control


async def test_the_jwks_is_fetched_once_and_an_unknown_kid_refetches_at_most_once_per_interval(
    forger: Forger, key: RSAKey
) -> None:
    server, clock = KeyServer(key), Clock()
    verifier = fetching(server, clock)

    for _ in range(3):
        await verifier.verify(forger.token())
    assert server.fetches == 1

    rogue = forger.token(forger.header(kid="k-unknown"))
    for _ in range(5):  # a burst of tokens naming a key nobody published
        with pytest.raises(Unauthorized):
            await verifier.verify(rogue)
    assert server.fetches == 1  # the first fetch was just now: no refetch inside the interval

    clock.now += JWKS_REFETCH_INTERVAL + 1
    for _ in range(5):
        with pytest.raises(Unauthorized):
            await verifier.verify(rogue)
    assert server.fetches == 2  # one refetch for the whole burst


async def test_a_rotated_key_is_picked_up_on_its_first_token(forger: Forger, key: RSAKey) -> None:
    server, clock = KeyServer(key), Clock()
    verifier = fetching(server, clock)
    await verifier.verify(forger.token())

    clock.now += JWKS_REFETCH_INTERVAL + 1
    successor = new_key("k2")
    server.keys = [key, successor]  # the issuer publishes the next key
    claims = await verifier.verify(Forger(key=successor, kid="k2").token())

    assert claims["client_id"] == "acme-market"
    assert server.fetches == 2
    await verifier.verify(forger.token())  # the old key still verifies
    assert server.fetches == 2


async def test_a_key_server_that_is_down_is_not_asked_on_every_request(forger: Forger, key: RSAKey) -> None:
    server, clock = KeyServer(key), Clock()
    server.status = 503
    verifier = fetching(server, clock)

    for _ in range(5):
        with pytest.raises(UpstreamUnavailable):
            await verifier.verify(forger.token())
    assert server.fetches == 1

    server.status = 200
    clock.now += JWKS_REFETCH_INTERVAL + 1
    assert (await verifier.verify(forger.token()))["client_id"] == "acme-market"
    assert server.fetches == 2


async def test_a_first_fetch_that_failed_is_a_503_and_is_tried_again_soon(forger: Forger, key: RSAKey) -> None:
    # A service that started before the gateway answered must not refuse every call for the full
    # refetch interval: it says 503 with Retry-After and asks again after a short wait.
    server, clock = KeyServer(key), Clock()
    server.status = 503
    verifier = fetching(server, clock)

    with pytest.raises(SigningKeysUnavailable) as first:
        await verifier.verify(forger.token())
    assert first.value.status == 503
    assert int(first.value.headers["Retry-After"]) >= 1
    with pytest.raises(SigningKeysUnavailable):
        await verifier.verify(forger.token())
    assert server.fetches == 1

    server.status = 200
    clock.now += JWKS_FIRST_FETCH_RETRY + 0.1
    assert JWKS_FIRST_FETCH_RETRY + 0.1 < JWKS_REFETCH_INTERVAL
    assert (await verifier.verify(forger.token()))["client_id"] == "acme-market"
    assert server.fetches == 2


async def test_a_verified_token_is_cached_until_it_expires(forger: Forger, key: RSAKey) -> None:
    verifier = TokenVerifier(issuer=GATEWAY_URL, audience="interchange", keys=KeySet.import_key_set(jwks(key)))
    token = forger.token()
    first = await verifier.verify(token)

    verifier.use_keys(KeySet.import_key_set(jwks(new_key("other"))))  # the key is gone from the set

    assert await verifier.verify(token) == first  # answered from the cache, not re-verified
    with pytest.raises(Unauthorized):
        await verifier.verify(forger.token())  # a token not seen before is checked against the new set
