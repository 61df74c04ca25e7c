"""``OptionalIdempotencyKeyHeader``: the kit's Idempotency-Key, optional (for operations published
before they took one), bounded and described as the required one is."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from service_kit.idempotency import MAX_KEY_LENGTH, IdempotencyKeyHeader, OptionalIdempotencyKeyHeader


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/optional")
    async def optional(idempotency_key: OptionalIdempotencyKeyHeader = None) -> dict[str, str | None]:
        return {"key": idempotency_key}

    @app.post("/required")
    async def required(idempotency_key: IdempotencyKeyHeader) -> dict[str, str]:
        return {"key": idempotency_key}

    return app


async def test_the_optional_key_is_none_without_the_header_and_bounded_as_the_required_one() -> None:
    app = _app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit.test") as client:
        absent = await client.post("/optional")
        given = await client.post("/optional", headers={"Idempotency-Key": "k-1"})
        too_long = {"Idempotency-Key": "k" * (MAX_KEY_LENGTH + 1)}
        long_optional, long_required = (
            await client.post("/optional", headers=too_long),
            await client.post("/required", headers=too_long),
        )

    assert absent.json() == {"key": None}
    assert given.json() == {"key": "k-1"}
    assert long_optional.status_code == long_required.status_code == 422
    assert long_optional.json()["detail"][0]["loc"] == long_required.json()["detail"][0]["loc"]
    parameters = {path: app.openapi()["paths"][path]["post"]["parameters"][0] for path in ("/optional", "/required")}
    assert parameters["/optional"]["required"] is False and parameters["/required"]["required"] is True
    assert parameters["/optional"]["schema"]["anyOf"][0]["maxLength"] == MAX_KEY_LENGTH
    assert parameters["/optional"]["description"].startswith("Optional. A unique key per logical request")
