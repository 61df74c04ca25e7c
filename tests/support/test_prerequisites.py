"""``make test`` names every missing program up front, with the line that installs them (item 17)."""

from __future__ import annotations

import pytest

from tests.support import prerequisites


def nothing_installed(command: str) -> str | None:
    return None


def only_git(command: str) -> str | None:
    return "/usr/bin/git" if command == "git" else None


def test_ci_fails_naming_every_missing_program_and_the_install_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert prerequisites.main({"CI": "true"}, only_git) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: The full test run needs programs that are not installed:")
    assert "  - redis-server: " in err and "  - curl: " in err and "git:" not in err
    assert "sudo apt-get install -y chromium curl postgresql redis-server wrk\n" in err


def test_a_local_run_warns_and_goes_on(capsys: pytest.CaptureFixture[str]) -> None:
    assert prerequisites.main({}, nothing_installed) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: ")
    assert "sudo apt-get install -y chromium curl git postgresql redis-server wrk\n" in err
    assert "will skip" in err


def test_nothing_is_said_when_everything_is_installed(capsys: pytest.CaptureFixture[str]) -> None:
    assert prerequisites.main({"CI": "true"}, lambda command: f"/usr/bin/{command}") == 0
    assert capsys.readouterr().err == ""


def test_ci_installs_every_program_the_tests_need() -> None:
    ci_script = (prerequisites.ROOT / ".ci" / "run").read_text()
    install = next(line for line in ci_script.splitlines() if "apt-get install" in line)
    assert all(f" {p.package} " in f" {install} " for p in prerequisites.PROGRAMS)


def test_postgresql_is_found_in_debians_versioned_folder_off_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prerequisites.shutil, "which", lambda command: None)
    monkeypatch.setattr(
        prerequisites.glob,
        "glob",
        lambda pattern: [pattern.replace("*", "9"), pattern.replace("*", "15")],
    )

    assert prerequisites.locate("initdb") == "/usr/lib/postgresql/15/bin/initdb"
