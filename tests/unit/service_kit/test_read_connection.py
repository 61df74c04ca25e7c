"""``ReadConnDep``: a bare Core connection for read endpoints; it is never committed, so nothing
written through it is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import httpx
from fastapi import APIRouter
from sqlalchemy import text

from service_kit.app import create_service_app
from service_kit.auth import Principal, require
from service_kit.db import ReadConnDep
from service_kit.settings import ServiceSettings
from tests.support.tokens import bearer, static_verifier


async def test_a_read_connection_reads_and_keeps_nothing_written_through_it(tmp_path: Path) -> None:
    router = APIRouter(prefix="/v1")

    @router.get("/notes")
    async def notes(_: Annotated[Principal, require("notes:read")], conn: ReadConnDep) -> dict[str, object]:
        await conn.execute(text("INSERT INTO notes (body) VALUES ('written by a read')"))
        rows = (await conn.execute(text("SELECT body FROM notes ORDER BY body"))).scalars().all()
        return {"bodies": list(rows)}

    settings = ServiceSettings.load("kit", data_dir=tmp_path, log_json=False)
    app = create_service_app(settings, title="kit", description="kit", routers=[router], verifier=static_verifier())
    async with app.router.lifespan_context(app):
        async with app.state.db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE notes (body TEXT NOT NULL)"))
            await conn.execute(text("INSERT INTO notes (body) VALUES ('kept')"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit.test") as client:
            resp = await client.get("/v1/notes", headers=bearer("notes:read"))

        assert resp.status_code == 200, resp.text
        assert resp.json() == {"bodies": ["kept", "written by a read"]}
        async with app.state.db.engine.connect() as conn:
            kept = (await conn.execute(text("SELECT body FROM notes"))).scalars().all()
        assert kept == ["kept"]
