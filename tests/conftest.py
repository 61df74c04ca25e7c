"""Shared fixtures. Tests that need a server they cannot start skip locally but fail in CI."""

from __future__ import annotations

import os

import pytest

from tests.support import tokens

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """A missing prerequisite skips a local run and fails a CI run (CI=true)."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _authlib_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # In-process tests talk plain http to test hosts; authlib refuses non-https URLs
    # other than loopback unless told otherwise.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> object:
    # A token minted while the tests are collected (at import, in a parametrize list) is minutes
    # or hours old by the time its test runs on a slow machine, and then the test fails with 401.
    tokens.refuse_minting(
        "a token minted while pytest collects expires before its test runs: mint it in the test or a "
        "fixture (tests.support.tokens.bearer), or use tests.support.tokens.Bearer for module-level headers"
    )
    try:
        return (yield)
    finally:
        tokens.refuse_minting(None)
