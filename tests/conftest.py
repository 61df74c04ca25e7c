"""Shared fixtures. Tests that need a server they cannot start skip locally but fail in CI."""

from __future__ import annotations

import os

import pytest

from tests.support import tokens

#: Fixtures every test module may ask for: a throwaway PostgreSQL (postgres_server, postgres_url),
#: a headless Chromium page (browser_page, external_requests).
pytest_plugins = ["tests.support.postgres", "tests.support.browser"]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """A missing prerequisite skips a local run and fails a CI run (CI=true)."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # xdist starts its workers with COLUMNS=80; rich consoles built at import (the CLI's) would
        # fix their width from it, and the CLI tests that widen the terminal per call would differ
        # from a serial run.
        os.environ.pop("COLUMNS", None)


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


#: Tests that start real processes (the whole suite, redis-server, gateway replicas) run one at a
#: time on one xdist worker: two of them at once on a small machine starve each other's start-up.
REAL_PROCESS_DIRS = ("e2e", "scale")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (--dist loadgroup, `make test`)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.path.parent.name == name for name in REAL_PROCESS_DIRS):
            item.add_marker(pytest.mark.xdist_group("real-processes"))
        elif _uses_wide_fixtures(item):
            # A module-, class- or package-scoped fixture is built once for the tests that share it:
            # they stay on one worker, together, instead of building it again on every worker.
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


def _uses_wide_fixtures(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        fixturedef.scope in ("module", "class", "package")
        for fixturedefs in info.name2fixturedefs.values()
        for fixturedef in fixturedefs
    )
