"""What keeps the suite safe under xdist (``make test`` runs ``-n auto --dist loadgroup``)."""

from __future__ import annotations

import os

import pytest

from tests import conftest

pytest_plugins = ["pytester"]

SHARED_MODULE = """
import pytest

@pytest.fixture(scope="module")
def world():
    return object()

def test_one(world):
    pass

def test_two(world):
    pass

def test_alone():
    pass
"""


def groups(items: list[pytest.Item]) -> dict[str, str | None]:
    conftest.pytest_collection_modifyitems(items)
    marks = {item.name: item.get_closest_marker("xdist_group") for item in items}
    return {name: (mark.args[0] if mark else None) for name, mark in marks.items()}


def test_tests_sharing_a_module_fixture_stay_on_one_worker(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_x=SHARED_MODULE)
    items, _ = pytester.inline_genitems()
    assert groups(items) == {"test_one": "test_x.py", "test_two": "test_x.py", "test_alone": None}


def test_tests_of_real_processes_run_one_at_a_time(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.mkdir("e2e")
    (pytester.path / "e2e" / "test_up.py").write_text("def test_up():\n    pass\n")
    items, _ = pytester.inline_genitems()
    assert groups(items) == {"test_up": "real-processes"}


def test_a_worker_sizes_consoles_like_a_serial_run(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    monkeypatch.setenv("COLUMNS", "80")
    conftest.pytest_configure(request.config)
    assert "COLUMNS" not in os.environ
