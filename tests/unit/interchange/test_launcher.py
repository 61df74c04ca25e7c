"""The launcher's supervision and port check, on small real processes (not the suite's services):
an exit is logged and followed by a start after the back-off, a crash loop is reported with the
tail of the service's log, and a taken port stops ``up`` before anything starts."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from interchange.launcher import PORT_TAKEN, RunningService, Suite, up
from interchange.supervisor import RestartPolicy
from tests.conftest import skip_or_fail

CRASH = "import sys; print('boom: the database is a directory', flush=True); sys.exit(3)"


@pytest.fixture
def output() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def suite(tmp_path: Path, output: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> Iterator[Suite]:
    """A suite of one service (erp) whose process is ``python -c CRASH``: it exits at once."""
    for name in ("ERP", "WMS", "CRM", "ORDERS", "INVENTORY", "MARKETPLACE", "STOREFRONT", "GATEWAY"):
        monkeypatch.delenv(f"INTERCHANGE_{name}_PORT", raising=False)
    suite = Suite(
        data_dir=tmp_path,
        host="127.0.0.1",
        free_ports=True,
        seed=False,
        console=Console(file=output, width=80),
        only=frozenset({"erp"}),
        policy=RestartPolicy(maximum=30.0, jitter=0.0, stable_after=30.0, report_after=3),
    )
    (tmp_path / "logs").mkdir()

    def spawn(service: RunningService) -> None:
        with service.log_path.open("ab") as log:
            service.process = subprocess.Popen([sys.executable, "-c", CRASH], stdout=log, stderr=subprocess.STDOUT)

    monkeypatch.setattr(suite, "_spawn", spawn)
    umask = os.umask(0o022)  # start() sets the launcher's (owner-only): give this process its own back
    os.umask(umask)
    try:
        yield suite
    finally:
        suite.stop()
        os.umask(umask)


def test_an_exit_is_logged_and_the_service_started_again_when_its_back_off_is_over(
    suite: Suite, output: io.StringIO
) -> None:
    suite.start()
    [erp] = suite.services
    assert erp.process is not None
    first = erp.process.pid
    erp.process.wait()
    now = erp.restarts.started_at + 1.0
    assert suite.supervise(now=now) == 1.0  # the first wait: 1 s (no jitter here)
    assert f"supervisor: erp (pid {first}) exited: exit code 3; next attempt in 1.0 s" in output.getvalue()
    assert suite.supervise(now=now + 0.5) == 0.5  # not due yet: nothing started
    assert erp.process.pid == first
    assert suite.supervise(now=now + 1.0) is None  # due: started again, nothing else pending
    assert erp.process.pid != first
    assert f"supervisor: erp started again (pid {erp.process.pid}, attempt 1)" in output.getvalue()
    assert json.loads((suite.data_dir / "suite.json").read_text())["pids"]["erp"] == erp.process.pid


def test_the_suite_file_says_starting_until_every_service_was_ready_then_running(suite: Suite) -> None:
    # A service killed while the launcher is still starting fails the start; tests and tools that
    # kill services must wait for "running", not only for each service's /health/ready.
    suite.start()
    assert json.loads((suite.data_dir / "suite.json").read_text())["state"] == "starting"
    suite.mark_running()
    assert json.loads((suite.data_dir / "suite.json").read_text())["state"] == "running"
    assert not (suite.data_dir / "suite.json.new").exists()


def test_a_service_that_keeps_crashing_at_start_is_reported_with_the_tail_of_its_log(
    suite: Suite, output: io.StringIO
) -> None:
    suite.start()
    [erp] = suite.services
    now = erp.restarts.started_at
    waits = []
    for _ in range(3):
        assert erp.process is not None
        erp.process.wait()
        now += 0.5  # each run ends soon after its start
        waits.append(suite.supervise(now=now))
        now = float(erp.restarts.due or now)
        suite.supervise(now=now)
    assert waits == [1.0, 2.0, 4.0]
    text = output.getvalue()
    report = text.split("supervisor: erp keeps crashing at start (3 exits in a row", 1)[1]
    assert "Last lines of" in report and "boom: the database is a directory" in report
    assert text.count("keeps crashing") == 1  # reported once, not at every later exit


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    if not Path("/proc/net/tcp").exists():
        skip_or_fail("the holder of a port is looked up in /proc (Linux)")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def test_up_fails_at_once_naming_a_taken_port_and_its_process_and_starts_nothing(
    tmp_path: Path, listener: socket.socket, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = listener.getsockname()[1]
    monkeypatch.setenv("INTERCHANGE_ERP_PORT", str(port))
    data_dir = tmp_path / "var"
    code = up(
        data_dir=data_dir, host="127.0.0.1", free_ports=True, seed=False, ready_timeout=5, only=frozenset({"erp"})
    )
    assert code == PORT_TAKEN
    err = capsys.readouterr().err
    assert f"cannot start: port {port} (erp) on 127.0.0.1: already in use, held by pid " in err
    assert "Interchange is running" not in err
    assert not data_dir.exists()  # nothing was started, bootstrapped or written
