"""Helpers for the tests of ``@precomputed`` routes (service_kit.precomputed): send a request the
fast way or through FastAPI's own solver, and compare their problems."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI


def _unused() -> None:
    """A dependency no route has: overriding it sends every request to FastAPI."""


async def post(
    app: FastAPI,
    client: httpx.AsyncClient,
    path: str,
    *,
    content: bytes,
    headers: dict[str, str],
    fastapi_way: bool = False,
) -> httpx.Response:
    """POST ``content`` to ``path``; with ``fastapi_way`` through FastAPI's solver (an override is set)."""
    if fastapi_way:
        app.dependency_overrides[_unused] = _unused
    try:
        return await client.post(path, content=content, headers=headers)
    finally:
        app.dependency_overrides.clear()


def problem(resp: httpx.Response) -> dict[str, Any]:
    """A problem's body without its per-request correlation id."""
    body: dict[str, Any] = resp.json()
    body.pop("correlation_id", None)
    return body


__all__ = ["post", "problem"]
