"""Fixtures shared by the unit tests: `solved` counts what FastAPI's per-request dependency solver runs
(the request-path and `@precomputed` route tests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fastapi.dependencies.utils
import fastapi.routing
import pytest


@pytest.fixture
def solved(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """The dependency nodes FastAPI's solver runs (once per node, recursively)."""
    seen: list[object] = []
    solve = fastapi.dependencies.utils.solve_dependencies

    async def counting(**kwargs: Any) -> Any:
        seen.append(kwargs["dependant"].call)
        return await solve(**kwargs)

    monkeypatch.setattr(fastapi.dependencies.utils, "solve_dependencies", counting)
    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    yield seen
