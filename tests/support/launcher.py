"""The whole suite as real processes for the e2e tests: ``interchange up --free-ports`` in its own
data dir, waited on until every service in its ``suite.json`` answers ready, stopped with SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.conftest import skip_or_fail
from tests.support.processes import ready, wait_until

ROOT = Path(__file__).resolve().parents[2]


def suite_env(settings: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without its ``INTERCHANGE_*`` settings, plus ``settings``."""
    return {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")} | dict(settings or {})


@contextlib.contextmanager
def launched_suite(
    data_dir: Path, *, settings: Mapping[str, str] | None = None, seconds: float = 120
) -> Iterator[dict[str, Any]]:
    """``suite.json`` of an ``interchange up --free-ports --data-dir data_dir`` run with ``settings``
    (``INTERCHANGE_*`` variables), once every service in it is ready; the launcher's output goes to
    ``launcher.out`` next to ``data_dir``."""
    if sys.platform != "linux":
        skip_or_fail("the launcher's process handling needs Linux")
    data_dir.mkdir(parents=True, exist_ok=True)
    output = data_dir.parent / "launcher.out"
    with output.open("ab") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "interchange.cli", "up", "--free-ports", "--data-dir", str(data_dir)],
            cwd=ROOT,
            env=suite_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    suite_file = data_dir / "suite.json"

    def described() -> dict[str, Any] | None:
        if launcher.poll() is not None:
            raise AssertionError(f"launcher exited early:\n{output.read_text(errors='replace')}")
        if not suite_file.exists():
            return None
        suite: dict[str, Any] = json.loads(suite_file.read_text())
        return suite if all(ready(u) for u in suite["services"].values()) else None

    try:
        yield wait_until(described, seconds=seconds, what="the suite to be ready")
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=60)


__all__ = ["ROOT", "launched_suite", "suite_env"]
