"""The launcher's supervisor on real processes: `interchange up --free-ports --only erp --only wms`
(two services are enough, and light on a small machine). SIGKILL the WMS: the launcher logs the
exit and starts it again, and it answers /health/ready again while the ERP runs on untouched. A
second launcher on the ERP's port fails at once (exit 3), naming the port and the ERP's process,
and starts nothing. SIGTERM then stops the suite cleanly (checked when the module's suite is
torn down, so the tests do not depend on their order)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from interchange.launcher import PORT_TAKEN
from tests.conftest import skip_or_fail
from tests.support.processes import ready, wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")} | extra


def up(data_dir: Path, *only: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with (data_dir.parent / f"{data_dir.name}.out").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "interchange.cli", "up", "--free-ports", "--data-dir", str(data_dir)]
            + [arg for name in only for arg in ("--only", name)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@dataclass
class Running:
    dir: Path
    launcher: subprocess.Popen[bytes]

    def info(self) -> dict[str, Any]:
        return dict(json.loads((self.dir / "suite.json").read_text()))

    def output(self) -> str:
        return (self.dir.parent / f"{self.dir.name}.out").read_text(errors="replace")

    def ready(self) -> dict[str, Any] | None:
        if self.launcher.poll() is not None:
            raise AssertionError(f"the launcher exited ({self.launcher.returncode}):\n{self.output()}")
        if not (self.dir / "suite.json").exists():
            return None
        info = self.info()
        # "running": the launcher is past its start-up (a service killed before that fails the start).
        running = info.get("state") == "running" and all(ready(url) for url in info["services"].values())
        return info if running else None


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    if not Path("/proc/net/tcp").exists():
        skip_or_fail("the launcher's process handling and port check need Linux")
    data_dir = tmp_path_factory.mktemp("supervisor") / "var"
    running = Running(data_dir, up(data_dir, "erp", "wms", env=clean_env()))
    try:
        wait_until(running.ready, seconds=120, what="erp and wms to be ready")
        yield running
    except BaseException:
        if running.launcher.poll() is None:
            running.launcher.send_signal(signal.SIGTERM)
            running.launcher.wait(timeout=60)
        raise
    # The suite stops only when asked, and then cleanly: every service, restarted ones included.
    pids = [int(pid) for pid in running.info()["pids"].values()]
    running.launcher.send_signal(signal.SIGTERM)
    assert running.launcher.wait(timeout=60) == 0, running.output()
    assert "stopped." in running.output()
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()], "a service outlived the launcher"


def test_a_killed_service_is_logged_started_again_and_ready_again(suite: Running) -> None:
    before = suite.info()
    killed = int(before["pids"]["wms"])
    os.kill(killed, signal.SIGKILL)

    def restarted() -> int | None:
        pid = int(suite.info()["pids"]["wms"])
        return pid if pid != killed else None

    new_pid = wait_until(restarted, seconds=60, what="the launcher to start the WMS again")
    wait_until(lambda: ready(before["services"]["wms"]), seconds=90, what="the restarted WMS to be ready")
    output = suite.output()
    assert f"supervisor: wms (pid {killed}) exited: killed by SIGKILL; next attempt in " in output
    assert f"supervisor: wms started again (pid {new_pid}, attempt 1)" in output
    assert suite.launcher.poll() is None, output  # the suite goes on: it stops only when asked
    assert suite.info()["pids"]["erp"] == before["pids"]["erp"]  # the others are left alone


def test_a_second_launcher_on_a_taken_port_fails_at_once_naming_the_port_and_its_process(
    suite: Running, tmp_path: Path
) -> None:
    info = wait_until(suite.ready, seconds=90, what="erp and wms to be ready")
    erp_port = info["services"]["erp"].rsplit(":", 1)[1]
    second = Running(tmp_path / "second", up(tmp_path / "second", "erp", env=clean_env(INTERCHANGE_ERP_PORT=erp_port)))
    code = second.launcher.wait(timeout=60)  # a bound on the wait: it exits before starting anything
    output = second.output()
    assert code == PORT_TAKEN, output
    assert f"port {erp_port} (erp) on 127.0.0.1: already in use, held by pid {info['pids']['erp']} (" in output
    assert "system_apis.erp.app:create_app" in output  # the holder's command line
    assert "Interchange is running" not in output
    assert not second.dir.exists()  # nothing bootstrapped, nothing started
    assert suite.ready() is not None  # the first suite is untouched
