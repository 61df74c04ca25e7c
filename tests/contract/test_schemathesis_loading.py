"""Collecting the schemathesis tests starts no service (issue 10, item 16): their schemas load in
fixtures when a test runs, so collection takes seconds and leaves nothing running."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest

from tests.support.suite import SuiteASGI

HERE = Path(__file__).parent


def test_importing_the_schemathesis_modules_starts_no_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []

    async def refuse(self: SuiteASGI, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started.append(f"{self.target}: {scope['type']}")
        raise RuntimeError("a suite was started while the module was imported")

    monkeypatch.setattr(SuiteASGI, "__call__", refuse)
    for module in ("test_schemathesis.py", "test_schemathesis_gateway.py"):
        namespace = runpy.run_path(str(HERE / module))
        assert any(name.startswith("test_") for name in namespace)
    assert started == []
