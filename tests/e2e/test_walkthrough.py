"""The README's walk-through against the real suite: `interchange up` starts every service as
its own process on free ports; the README's bash blocks run as written (only the gateway address
and the data directory are substituted); Ctrl-C-like SIGTERM stops everything cleanly; a restart
keeps the data."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import skip_or_fail

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def readme_walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Your first partner call", 1)[1].split("\n## ", 1)[0]
    return "\n".join(re.findall(r"```bash\n(.*?)```", section, flags=re.S))


def demo_order(data_dir: Path, gateway: str) -> httpx.Response:
    """The walk-through's order MP-1001, read through the gateway as the demo partner."""
    demo = json.loads((data_dir / "demo-client.json").read_text())
    token = httpx.post(
        f"{gateway}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(demo["client_id"], demo["client_secret"]),
    ).json()["access_token"]
    return httpx.get(f"{gateway}/marketplace/v1/orders/MP-1001", headers={"Authorization": f"Bearer {token}"})


class Launcher:
    def __init__(self, data_dir: Path, settings: dict[str, str] | None = None) -> None:
        """``interchange up`` with this environment's ``INTERCHANGE_*`` variables replaced by ``settings``."""
        self.data_dir = data_dir
        env = {k: v for k, v in os.environ.items() if not k.startswith("INTERCHANGE_")} | (settings or {})
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = data_dir / "launcher.out"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "interchange.cli", "up", "--free-ports", "--data-dir", str(data_dir)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.suite = self._wait_ready()

    def _wait_ready(self) -> dict[str, object]:
        deadline = time.monotonic() + 120
        suite_file = self.data_dir / "suite.json"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"launcher exited early:\n{self.output()}")
            if suite_file.exists():
                suite = json.loads(suite_file.read_text())
                try:
                    if all(
                        httpx.get(f"{u}/health/ready", timeout=1).status_code == 200 for u in suite["services"].values()
                    ):
                        return dict(suite)
                except httpx.HTTPError:
                    pass
            time.sleep(0.25)
        self.stop()
        raise AssertionError(f"suite not ready:\n{self.output()}")

    def output(self) -> str:
        text = self.log_path.read_text(errors="replace")
        logs = sorted((self.data_dir / "logs").glob("*.log"))
        tails = [f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-15:]) for p in logs]
        return "\n".join([text, *tails])

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    if shutil.which("curl") is None:
        skip_or_fail("curl is not installed (the README's walk-through uses it)")
    yield tmp_path / "var"


def run_walkthrough(gateway: str, data_dir: Path) -> str:
    script = readme_walkthrough().replace("http://127.0.0.1:8000", gateway).replace("var/", f"{data_dir}/")
    # Step 3 of the README sleeps a moment before reading the status; poll instead of trusting it.
    poll = (
        "for i in $(seq 1 100); do "
        'curl -sf "$GATEWAY/marketplace/v1/orders/MP-1001" -H "Authorization: Bearer $TOKEN" '
        "| grep -q PENDING || break; sleep 0.1; done\n"
    )
    script = script.replace("sleep 1\n", poll)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, f"walk-through failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_readme_walkthrough_on_real_processes(data_dir: Path) -> None:
    launcher = Launcher(data_dir)
    try:
        gateway = str(launcher.suite["gateway"])
        out = run_walkthrough(gateway, data_dir)
        assert '"order_status":"PENDING"' in out.replace(" ", "")
        assert '"order_status":"ACCEPTED"' in out.replace(" ", "")
        assert re.search(r'"seller_order_number":\s*"SO-', out)
        assert '"pointer":"#/order_items/0/seller_sku"' in out.replace(" ", "")
        pids = list(dict(launcher.suite["pids"]).values())  # type: ignore[call-overload]
        assert len(pids) >= 6
    finally:
        code = launcher.stop()
    assert code == 0, launcher.output()
    assert not [p for p in pids if pid_alive(p)], "a service process outlived the launcher"

    # Running it again keeps the data: the order is still there and the seed did not duplicate.
    again = Launcher(data_dir)
    try:
        status = demo_order(data_dir, str(again.suite["gateway"]))
        assert status.status_code == 200
        assert status.json()["order_status"] == "ACCEPTED"
    finally:
        assert again.stop() == 0
