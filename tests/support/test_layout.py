"""Every test directory is a package, so two test modules with one name in two directories
(tests/e2e/test_x.py and tests/security/test_x.py) import as two modules, not as a clash."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_directory_holding_tests_is_a_package() -> None:
    directories = {path.parent for path in TESTS.rglob("*.py") if "__pycache__" not in path.parts}
    assert sorted(str(d.relative_to(TESTS)) for d in directories if not (d / "__init__.py").exists()) == []
