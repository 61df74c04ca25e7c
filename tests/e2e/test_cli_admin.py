"""The CLI's operational commands against real processes: ``interchange up`` (gateway and orders
only) registers the local ops client; ``orders`` and ``audit`` then find the services in the data
directory's suite.json, get an ops token from the gateway and call the admin APIs over sockets,
without opening a database; a mistake is one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")}


def interchange(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interchange.cli", *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data_dir = tmp_path_factory.mktemp("suite")
    log = (data_dir / "launcher.out").open("wb")
    command = ["up", "--free-ports", "--only", "gateway", "--only", "orders", "--data-dir", str(data_dir)]
    launcher = subprocess.Popen(
        [sys.executable, "-m", "interchange.cli", *command], cwd=ROOT, env=ENV, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while not _running(data_dir):  # poll: the launcher says so in suite.json
            assert launcher.poll() is None, (data_dir / "launcher.out").read_text()
            assert time.monotonic() < deadline, (data_dir / "launcher.out").read_text()
            time.sleep(0.25)
        yield data_dir
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=60)
        log.close()


def _running(data_dir: Path) -> bool:
    try:
        return bool(json.loads((data_dir / "suite.json").read_text())["state"] == "running")
    except (OSError, ValueError, KeyError):
        return False


def test_the_exception_queue_and_the_audit_come_over_http(data_dir: Path) -> None:
    databases = sorted(p.name for p in data_dir.glob("*.db"))

    queue = interchange("orders", "exceptions", "--json", "--data-dir", str(data_dir))
    audit = interchange("audit", "--json", "--data-dir", str(data_dir))

    assert queue.returncode == 0, queue.stderr
    assert json.loads(queue.stdout)["items"] == []
    assert audit.returncode == 0, audit.stderr
    assert sorted(p.name for p in data_dir.glob("*.db")) == databases  # the CLI created none


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["orders", "timeline", "nope"],
            "error: no order 'nope': not an order id, channel order id, ERP sales order number or correlation id",
        ),
        (["orders", "replay", "ord_nope"], "error: No order ord_nope."),
    ],
)
def test_an_unknown_order_is_one_line(data_dir: Path, args: list[str], line: str) -> None:
    result = interchange(*args, "--data-dir", str(data_dir))

    assert result.returncode == 1
    assert result.stderr.strip() == line
