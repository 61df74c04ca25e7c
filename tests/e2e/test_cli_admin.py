"""The CLI's operational commands against real processes: ``interchange up`` (gateway and orders
only) registers the local ops client; ``orders``, ``audit``, ``clients``, ``keys`` and ``events``
then find the services in the data directory's suite.json, get an ops token from the gateway and
call the admin APIs over sockets, without opening a database; a mistake is one line.

Start-up on a busy machine (CI's 2 cores, every xdist worker starting suites) can take minutes:
the launcher is given the same bound as the wait here, so it does not give up first (its default
``--ready-timeout`` is 90 s), and the suite counts as up only once suite.json says ``running``
(every service answered ready). The CLI runs against a second data directory holding only
suite.json and secrets.json, so that "it created no database" is not raced by a service creating
one of its own files (the event logs appear when a worker first uses them)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")}
START_BOUND = 300  # seconds: a bound on the wait for start-up, not a timing claim


def interchange(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interchange.cli", *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def suite_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    suite_dir = tmp_path_factory.mktemp("suite")
    log_path = suite_dir / "launcher.out"
    command = [
        "up", "--free-ports", "--only", "gateway", "--only", "orders", "--data-dir", str(suite_dir),
        "--ready-timeout", str(START_BOUND),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "interchange.cli", *command], cwd=ROOT, env=ENV, stdout=log, stderr=subprocess.STDOUT
        )
    try:

        def running() -> bool:
            assert launcher.poll() is None, log_path.read_text(errors="replace")
            return _running(suite_dir)

        wait_until(running, seconds=START_BOUND + 30, what="suite.json to say running", interval=0.25)
        yield suite_dir
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=120)


@pytest.fixture(scope="module")
def data_dir(suite_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the CLI needs of the local suite (where the services are, the ops client), and nothing else."""
    cli_dir = tmp_path_factory.mktemp("cli")
    for name in ("suite.json", "secrets.json"):
        shutil.copy2(suite_dir / name, cli_dir / name)
    return cli_dir


def _running(data_dir: Path) -> bool:
    try:
        return bool(json.loads((data_dir / "suite.json").read_text())["state"] == "running")
    except (OSError, ValueError, KeyError):
        return False


def test_the_exception_queue_the_audit_and_the_clients_come_over_http(data_dir: Path) -> None:
    queue = interchange("orders", "exceptions", "--json", "--data-dir", str(data_dir))
    audit = interchange("audit", "--json", "--data-dir", str(data_dir))
    clients = interchange("clients", "list", "--data-dir", str(data_dir))
    keys = interchange("keys", "list", "--data-dir", str(data_dir))
    dead = interchange("events", "dead-letters", "--json", "--data-dir", str(data_dir))

    assert queue.returncode == 0, queue.stderr
    assert json.loads(queue.stdout)["items"] == []
    assert audit.returncode == 0, audit.stderr
    assert clients.returncode == 0 and "ops-cli" in clients.stdout, clients.stderr
    assert keys.returncode == 0 and "signing" in keys.stdout, keys.stderr
    assert dead.returncode == 0 and dead.stdout == "", dead.stderr  # the orders service answers for the bus
    assert sorted(p.name for p in data_dir.iterdir()) == ["secrets.json", "suite.json"]  # the CLI created nothing


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
