"""``interchange up``: every service as its own uvicorn process, on the embedded default.

(uvicorn through ``interchange.serve``: its housekeeping tick once a second instead of ten times.)

The launcher registers the suite's OAuth clients, starts each service with its settings in the
environment, waits until each answers /health/ready (with a progress display), prints where each
listens and the demo partner's credentials, and stops them all cleanly on Ctrl-C or SIGTERM: each
child gets one SIGTERM, finishes its in-flight requests (uvicorn's graceful shutdown, bounded),
and is killed only if it overstays. Children die with the launcher even if it is killed itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from interchange.bootstrap import DEMO_PARTNER, bootstrap
from interchange.services import ServiceInfo, available_services
from service_kit.files import tighten_tree

GRACE_SECONDS = 10
STOP_DEADLINE = 20


@dataclass
class RunningService:
    info: ServiceInfo
    url: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    exit_code: int | None = field(default=None)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # Linux: the child gets SIGTERM if the launcher dies, so no orphan survives a SIGKILL.
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def proxy_header_flags(name: str) -> list[str]:
    """The gateway's server believes no X-Forwarded-For (uvicorn's default trusts 127.0.0.1): the
    gateway reads them itself, from its ``trusted_proxies`` only (gateway/app.py)."""
    return ["--no-proxy-headers"] if name == "gateway" else []


class Suite:
    def __init__(self, *, data_dir: Path, host: str, free_ports: bool, seed: bool, console: Console) -> None:
        self.data_dir = data_dir.resolve()
        self.host = host
        self.seed = seed
        self.console = console
        self.services: list[RunningService] = []
        logs = self.data_dir / "logs"
        for info in available_services():
            port = _free_port(host) if free_ports else info.port
            self.services.append(RunningService(info, f"http://{host}:{port}", logs / f"{info.name}.log"))
        self.secrets: dict[str, str] = {}
        self._stopping = False

    @property
    def gateway_url(self) -> str:
        return next(s.url for s in self.services if s.info.name == "gateway")

    def environment(self, service: RunningService) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "INTERCHANGE_DATA_DIR": str(self.data_dir),
                "INTERCHANGE_SEED_DEMO": "true" if self.seed else "false",
                "INTERCHANGE_GATEWAY_URL": self.gateway_url,
                "INTERCHANGE_ISSUER": self.gateway_url,
            }
        )
        for other in self.services:
            env[f"INTERCHANGE_{other.info.name.upper()}_URL"] = other.url
        name = service.info.name.upper()
        env[f"INTERCHANGE_{name}_PORT"] = service.url.rsplit(":", 1)[1]
        if service.info.client_scopes:
            env[f"INTERCHANGE_{name}_CLIENT_ID"] = service.info.client_id
            env[f"INTERCHANGE_{name}_CLIENT_SECRET"] = self.secrets[service.info.client_id]
        return env

    def start(self) -> None:
        # Owner-only: every file the launcher and the services (who inherit the umask) create
        # under the data dir, and whatever an older version left readable there (service_kit.files).
        os.umask(0o077)
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        tighten_tree(self.data_dir)
        gateway_db = f"sqlite+aiosqlite:///{self.data_dir / 'gateway.db'}"
        self.secrets = asyncio.run(
            bootstrap(self.data_dir, os.environ.get("INTERCHANGE_GATEWAY_DATABASE_URL", gateway_db))
        )
        for service in self.services:
            port = service.url.rsplit(":", 1)[1]
            cmd = [
                sys.executable, "-m", "interchange.serve", "--factory", service.info.factory,
                "--host", self.host, "--port", port,
                "--timeout-graceful-shutdown", str(GRACE_SECONDS),
                "--no-access-log", "--log-level", "warning",
                *proxy_header_flags(service.info.name),
            ]  # fmt: skip
            log = service.log_path.open("ab")
            service.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                cmd,
                env=self.environment(service),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the launcher only; it sends one SIGTERM each
                preexec_fn=_die_with_parent,
            )
            log.close()
        (self.data_dir / "suite.json").write_text(
            json.dumps(
                {
                    "gateway": self.gateway_url,
                    "services": {s.info.name: s.url for s in self.services},
                    "pids": {s.info.name: s.process.pid for s in self.services if s.process},
                },
                indent=2,
            )
        )

    def wait_ready(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        pending = {s.info.name: s for s in self.services}
        with (
            httpx.Client(timeout=1.0) as client,
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            ) as progress,
        ):
            task = progress.add_task("starting services", total=len(pending))
            while pending and time.monotonic() < deadline:
                for name, service in list(pending.items()):
                    if service.process and service.process.poll() is not None:
                        self.console.print(f"[red]{name} exited during start-up; see {service.log_path}")
                        return False
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(f"{service.url}/health/ready").status_code == 200:
                            del pending[name]
                            progress.advance(task)
                progress.update(task, description=f"starting services: waiting for {', '.join(pending) or '-'}")
                if pending:
                    time.sleep(0.2)
        if pending:
            self.console.print(f"[red]not ready after {timeout:.0f}s: {', '.join(pending)}")
        return not pending

    def print_summary(self) -> None:
        table = Table(title="Interchange is running", show_lines=False)
        table.add_column("service")
        table.add_column("tier")
        table.add_column("listens on")
        table.add_column("log")
        for s in self.services:
            table.add_row(s.info.name, s.info.tier, s.url, str(s.log_path))
        self.console.print(table)
        secret = self.secrets.get(DEMO_PARTNER, "")
        self.console.print(
            f"Demo partner: client_id=[bold]{DEMO_PARTNER}[/] client_secret=[bold]{secret}[/]\n"
            f"(also in {self.data_dir / 'demo-client.json'}). Gateway: {self.gateway_url}. "
            "Stop with Ctrl-C."
        )

    def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        for s in self.services:
            if s.process and s.process.poll() is None:
                s.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_DEADLINE
        for s in self.services:
            if not s.process:
                continue
            try:
                s.exit_code = s.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                s.process.kill()
                s.exit_code = s.process.wait()

    def watch(self) -> int:
        """Block until a signal asks us to stop (exit 0) or a service dies (exit 1)."""
        stop_requested = False

        def request_stop(signum: int, _frame: object) -> None:
            nonlocal stop_requested
            stop_requested = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        while not stop_requested:
            for s in self.services:
                if s.process and s.process.poll() is not None:
                    self.console.print(
                        f"[red]{s.info.name} stopped unexpectedly (exit {s.process.returncode}); stopping all"
                    )
                    self.stop()
                    return 1
            time.sleep(0.2)
        self.console.print("stopping: letting in-flight requests finish…")
        self.stop()
        clean = all(s.exit_code in (0, -signal.SIGTERM) for s in self.services)
        self.console.print("stopped." if clean else "[yellow]stopped; some services did not exit cleanly")
        return 0 if clean else 1


def up(*, data_dir: Path, host: str, free_ports: bool, seed: bool, ready_timeout: float) -> int:
    console = Console(stderr=True)
    suite = Suite(data_dir=data_dir, host=host, free_ports=free_ports, seed=seed, console=console)
    suite.start()
    try:
        if not suite.wait_ready(ready_timeout):
            suite.stop()
            return 1
        suite.print_summary()
        return suite.watch()
    finally:
        suite.stop()
