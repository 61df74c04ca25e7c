"""``interchange db upgrade|current|revision``: each service's migrations from the command line, with
one-line errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from service_kit.db import Database
from system_apis.erp.migrations import HISTORY as ERP
from tests.unit.interchange.cli_support import isolate, one_line, run


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch)


def test_upgrade_brings_a_service_to_its_head_and_current_says_so(tmp_path: Path) -> None:
    before = run(tmp_path, "db", "current", "erp")
    first = run(tmp_path, "db", "upgrade", "erp")
    second = run(tmp_path, "db", "upgrade", "erp")
    after = run(tmp_path, "db", "current", "erp")

    head = ERP.head()
    assert before.stdout == f"erp: no database yet (head: {head})\n"
    assert first.stdout == f"erp: empty -> {head}\n", first.output
    assert second.stdout == f"erp: at {head} (the head), nothing to do\n"
    assert after.stdout == f"erp: {head} (head)\n"


def test_a_database_unlike_the_previous_release_is_one_line_and_left_alone(tmp_path: Path) -> None:
    async def made_by_hand() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'erp.db'}")
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE erp_items (item_no VARCHAR(20) PRIMARY KEY)"))
        await db.dispose()

    asyncio.run(made_by_hand())
    result = run(tmp_path, "db", "upgrade", "erp")

    assert result.exit_code == 1
    assert one_line(result).startswith(
        "error: the erp database has no migration history and is not the release before migrations (missing table"
    )
    assert run(tmp_path, "db", "current", "erp").stdout.startswith("erp: none (head: ")


def test_an_unknown_service_is_a_usage_error(tmp_path: Path) -> None:
    result = run(tmp_path, "db", "upgrade", "billing")

    assert result.exit_code == 2
    assert "unknown service 'billing'" in one_line(result)


def test_a_revision_with_nothing_to_add_is_refused(tmp_path: Path) -> None:
    revisions = sorted(ERP.versions.glob("*.py"))
    result = run(tmp_path, "db", "revision", "erp", "-m", "nothing")

    assert result.exit_code == 1
    assert one_line(result) == "error: the erp models match the head revision: nothing to add"
    assert sorted(ERP.versions.glob("*.py")) == revisions  # nothing written
