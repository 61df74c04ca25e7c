"""The breaking-change gate reads the published history with a fixed number of git processes per
revision (one ``ls-tree``), and every file's text with a single ``cat-file --batch``: ``contracts
check`` used to start a ``git show`` per file and revision."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from interchange import compat


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def publish(repo: Path, texts: dict[str, str], message: str) -> None:
    for name, text in texts.items():
        path = repo / "contracts" / "openapi" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "gate@example.com")
    git(tmp_path, "config", "user.name", "gate")
    publish(tmp_path, {"shop/v1.yaml": "a: 1\n", "shop/v2.yaml": "b: 1\n", "cart/v1.yaml": "c: 1\n"}, "publish")
    publish(tmp_path, {"shop/v1.yaml": "a: 2\n"}, "shop v1 grows")
    publish(tmp_path, {"cart/v1.yaml": "c: 2\n", "shop/v2.yaml": "b: 2\n"}, "cart and shop v2 grow")
    return tmp_path


def test_each_distinct_published_text_is_read_once_with_one_git_call_per_revision(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INTERCHANGE_CONTRACTS_BASE", raising=False)
    started: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(args: list[str], *rest: Any, **kwargs: Any) -> Any:
        started.append(args)
        return real_run(args, *rest, **kwargs)

    monkeypatch.setattr(compat.subprocess, "run", counting_run)
    folder = repo / "contracts" / "openapi"

    versions = compat.published_versions(repo, folder)

    texts = sorted((path.relative_to(folder).as_posix(), text) for (path, _), text in versions.items())
    assert texts == [
        ("cart/v1.yaml", "c: 1\n"),
        ("cart/v1.yaml", "c: 2\n"),
        ("shop/v1.yaml", "a: 1\n"),
        ("shop/v1.yaml", "a: 2\n"),
        ("shop/v2.yaml", "b: 1\n"),
        ("shop/v2.yaml", "b: 2\n"),
    ]
    commands = [args[3] for args in started]  # git -C <repo> <command>
    assert commands.count("ls-tree") == 3  # one per revision
    assert commands.count("cat-file") == 1
    assert "show" not in commands
