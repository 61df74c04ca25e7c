"""Test tokens are minted when a test runs, never at collection (issue 10, item 15)."""

from __future__ import annotations

import pytest

from service_kit.auth import TokenVerifier
from tests.support import tokens
from tests.support.tokens import Bearer, MintedTooEarly, static_verifier

pytest_plugins = ["pytester"]

KEY = {"Idempotency-Key": "k-1"}


async def claims_of(verifier: TokenVerifier, headers: dict[str, str]) -> dict[str, object]:
    return await verifier.verify(headers["Authorization"].removeprefix("Bearer "))


def test_a_token_minted_at_import_fails_its_module_with_the_fix_named(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest("from tests.conftest import pytest_collection  # noqa: F401\n")
    pytester.makepyfile(
        test_minted_early=(
            "from tests.support.tokens import bearer\nAUTH = bearer('erp:read')\ndef test_uses_it():\n    assert AUTH\n"
        )
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*MintedTooEarly: a token minted while pytest collects expires*"])


def test_module_level_headers_mint_nothing_until_a_request_reads_them() -> None:
    tokens.refuse_minting("collecting")
    try:
        headers = Bearer("erp:read", client_id="acme-market") | KEY  # what a module or parametrize list holds
        assert headers["Idempotency-Key"] == "k-1"
        with pytest.raises(MintedTooEarly):
            dict(headers)
    finally:
        tokens.refuse_minting(None)


async def test_each_read_carries_a_fresh_valid_token() -> None:
    headers = KEY | Bearer("erp:read", client_id="acme-market")
    first, second = dict(headers), dict(headers)
    assert first["Idempotency-Key"] == second["Idempotency-Key"] == "k-1"
    verifier = static_verifier()
    one, two = await claims_of(verifier, first), await claims_of(verifier, second)
    assert one["client_id"] == two["client_id"] == "acme-market"
    assert one["scope"] == "erp:read"
    assert one["jti"] != two["jti"]
