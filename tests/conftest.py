"""Shared fixtures. Tests that need a server they cannot start skip locally but fail in CI."""

from __future__ import annotations

import os

import pytest

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
