"""``interchange up``: every service as its own uvicorn process, on the embedded default.

(uvicorn through ``interchange.serve``: its housekeeping tick once a second instead of ten times;
the gateway on granian through ``gateway.serve``, see ``server_module``.)

The launcher registers the suite's OAuth clients, starts each service with its settings in the
environment, waits until each answers /health/ready (with a progress display), prints where each
listens and the demo partner's credentials, then supervises them: a service that exits is
started again after a back-off (``interchange.supervisor``), and each exit and start is logged.
The suite stops only when asked, on Ctrl-C or SIGTERM: each child gets one SIGTERM, finishes its
in-flight requests (uvicorn's graceful shutdown, bounded), and is killed only if it overstays.
Children die with the launcher even if it is killed itself.

Before anything starts, every port is checked: one that is taken (another suite, any process)
fails the start at once, naming the port and, when /proc shows it, the process holding it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
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

from interchange import reference_shop
from interchange.bootstrap import DEMO_PARTNER, bootstrap
from interchange.ports import service_port, taken_ports
from interchange.scale import ScaledMode
from interchange.services import ServiceInfo, available_services
from interchange.supervisor import RestartPolicy, Restarts, describe_exit, die_with_parent, log_tail
from service_kit.files import tighten_tree

GRACE_SECONDS = 10
STOP_DEADLINE = 20
PORT_TAKEN = 3  # the exit code when a port is taken: nothing was started


@dataclass
class RunningService:
    info: ServiceInfo
    url: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    exit_code: int | None = field(default=None)
    restarts: Restarts = field(default_factory=Restarts)
    replica: int = 0  # 1..N in scaled mode (0: the only one)
    command: tuple[str, ...] = ()  # not a service of ours: the load balancer's command line

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def name(self) -> str:
        """``orders``, or ``orders-2`` for a replica in scaled mode."""
        return f"{self.info.name}-{self.replica}" if self.replica else self.info.name


def proxy_header_flags(name: str) -> list[str]:
    """The gateway's server believes no X-Forwarded-For (uvicorn's default trusts 127.0.0.1): the
    gateway reads them itself, from its ``trusted_proxies`` only (gateway/app.py)."""
    return ["--no-proxy-headers"] if name == "gateway" else []


def server_module(name: str) -> str:
    """The gateway runs on granian (``gateway.serve``): per proxied call it costs less CPU than
    uvicorn (bench/README.md, gateway); the services stay on uvicorn (``interchange.serve``)."""
    return "gateway.serve" if name == "gateway" else "interchange.serve"


class Suite:
    def __init__(
        self,
        *,
        data_dir: Path,
        host: str,
        free_ports: bool,
        seed: bool,
        console: Console,
        only: frozenset[str] | None = None,
        policy: RestartPolicy | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.host = host
        self.seed = seed
        self.console = console
        self.policy = policy or RestartPolicy()
        #: Every service's address (those not started too: the others are configured with them);
        #: in scaled mode, the load balancer's address of the service's replicas.
        self.urls = {
            i.name: f"http://{host}:{service_port(i, host=host, free_ports=free_ports)}" for i in available_services()
        }
        logs = self.data_dir / "logs"
        self.started = [info for info in available_services() if only is None or info.name in only]
        self.services: list[RunningService] = [
            RunningService(info, self.urls[info.name], logs / f"{info.name}.log", restarts=Restarts(self.policy))
            for info in self.started
        ]
        if reference_shop.wanted(only):  # the storefront's reference shop beside it (interchange.reference_shop)
            self.urls["shop"] = reference_shop.shop_url(host=host, free_ports=free_ports)
            shop = RunningService(
                reference_shop.SHOP, self.urls["shop"], logs / "shop.log", restarts=Restarts(self.policy)
            )
            self.services.append(shop)
        self.webhook_secret = ""  # the storefront's, shared with the shop (set by start)
        self.secrets: dict[str, str] = {}
        self._stopping = False
        self.running = False  # every service answered ready once (suite.json says so)
        self.ready: set[str] = set()  # the services (replicas) that answered ready once

    @property
    def gateway_url(self) -> str:
        return self.urls["gateway"]

    def say(self, text: str, *, style: str | None = None) -> None:
        """One line of the launcher's log, time-stamped, never wrapped (it is grepped)."""
        stamp = time.strftime("%H:%M:%S")
        self.console.print(f"{stamp} {text}", style=style, markup=False, highlight=False, soft_wrap=True)

    def taken_ports(self) -> list[str]:
        """Why each port that cannot be bound now cannot (another suite's, any process's)."""
        return [str(t) for t in taken_ports(host=self.host, ports=self.ports())]

    def ports(self) -> dict[str, int]:
        """What each port the suite listens on is for."""
        return {s.name: s.port for s in self.services}

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
        for other, url in self.urls.items():
            env[f"INTERCHANGE_{other.upper()}_URL"] = url
        name = service.info.name.upper()
        env[f"INTERCHANGE_{name}_PORT"] = service.url.rsplit(":", 1)[1]
        if service.info.client_scopes:
            env[f"INTERCHANGE_{name}_CLIENT_ID"] = service.info.client_id
            env[f"INTERCHANGE_{name}_CLIENT_SECRET"] = self.secrets[service.info.client_id]
        shop = next((s.url for s in self.services if s.info is reference_shop.SHOP), None)
        env.update(
            reference_shop.environment(
                service=service.info.name,
                storefront_url=self.urls["storefront"],
                shop_url=shop,
                secret=self.webhook_secret,
            )
        )
        return env

    def start(self) -> None:
        # Owner-only: every file the launcher and the services (who inherit the umask) create
        # under the data dir, and whatever an older version left readable there (service_kit.files).
        os.umask(0o077)
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        tighten_tree(self.data_dir)
        self.secrets = asyncio.run(bootstrap(self.data_dir, self.gateway_database_url()))
        self.webhook_secret = reference_shop.webhook_secret(self.data_dir)
        self.start_wave(first=True)

    def gateway_database_url(self) -> str:
        default = f"sqlite+aiosqlite:///{self.data_dir / 'gateway.db'}"
        return os.environ.get("INTERCHANGE_GATEWAY_DATABASE_URL", default)

    def start_wave(self, *, first: bool) -> None:
        """Start the services (scaled mode: the first replicas and nginx, then the others: scale_suite)."""
        now = time.monotonic()
        for service in self.services:
            if service.process is None and first == (service.replica <= 1):
                self._spawn(service)
                service.restarts.started(now=now)
        self._write_suite_file()

    def _spawn(self, service: RunningService) -> None:
        cmd = list(service.command) or [
            sys.executable, "-m", server_module(service.info.name), "--factory", service.info.factory,
            "--host", self.host, "--port", str(service.port),
            "--timeout-graceful-shutdown", str(GRACE_SECONDS),
            "--no-access-log", "--log-level", "warning",
            *proxy_header_flags(service.info.name),
        ]  # fmt: skip
        with service.log_path.open("ab") as log:
            service.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                cmd,
                env=self.environment(service),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches the launcher only; it sends one SIGTERM each
                preexec_fn=die_with_parent,
            )

    def _write_suite_file(self) -> None:
        """``suite.json``: where each service listens and its current pid (rewritten on a restart),
        and ``state``: ``starting`` until every service answered ready once, then ``running``. A
        service that exits while ``starting`` fails the start; once ``running`` it is restarted."""
        staged = self.data_dir / "suite.json.new"  # replaced whole: a reader never sees half a file
        staged.write_text(
            json.dumps(
                {
                    "state": "running" if self.running else "starting",
                    "gateway": self.gateway_url,
                    "services": {s.info.name: self.urls[s.info.name] for s in self.services if not s.command},
                    "pids": {s.name: s.process.pid for s in self.services if s.process},
                    "replicas": {s.name: s.url for s in self.services if s.replica},
                },
                indent=2,
            )
        )
        staged.replace(self.data_dir / "suite.json")

    def mark_running(self) -> None:
        """Every service answered ready once: from now on an exit is restarted (suite.json says so)."""
        self.running = True
        self._write_suite_file()

    def wait_ready(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        pending = {s.name: s for s in self.services if s.process and s.name not in self.ready}
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
                        self.say(
                            f"{name} exited during start-up ({describe_exit(service.process.returncode)}); "
                            f"last lines of {service.log_path}:\n{log_tail(service.log_path)}",
                            style="red",
                        )
                        return False
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(f"{service.url}/health/ready").status_code == 200:
                            del pending[name]
                            self.ready.add(name)
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
            table.add_row(s.name, s.info.tier, s.url, str(s.log_path))
        self.console.print(table)
        self.print_balancer()
        secret = self.secrets.get(DEMO_PARTNER, "")
        self.console.print(
            f"Demo partner: client_id=[bold]{DEMO_PARTNER}[/] client_secret=[bold]{secret}[/]\n"
            f"(also in {self.data_dir / 'demo-client.json'}). Gateway: {self.gateway_url}. "
            "Stop with Ctrl-C."
        )

    def print_balancer(self) -> None:
        """Where the load balancer answers (scaled mode only)."""

    def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        running = [s for s in self.services if s.process and s.restarts.due is None]
        for s in running:
            if s.process and s.process.poll() is None:
                s.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_DEADLINE
        for s in running:
            if not s.process:
                continue
            try:
                s.exit_code = s.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                s.process.kill()
                s.exit_code = s.process.wait()

    def supervise(self, *, now: float) -> float | None:
        """Note every service that has exited and start again each one whose back-off is over;
        the seconds until the next start is due (``None``: none is)."""
        for s in self.services:
            if s.restarts.due is None:
                if s.process is not None and (code := s.process.poll()) is not None:
                    self._exited(s, code, now=now)
            elif now >= s.restarts.due:
                self._spawn(s)
                s.restarts.started(now=now)
                pid = s.process.pid if s.process else "?"
                self.say(f"supervisor: {s.name} started again (pid {pid}, attempt {s.restarts.quick_exits})")
                self._write_suite_file()
        due = [s.restarts.due for s in self.services if s.restarts.due is not None]
        return max(0.0, min(due) - now) if due else None

    def _exited(self, s: RunningService, code: int, *, now: float) -> None:
        pid = s.process.pid if s.process else "?"
        delay = s.restarts.exited(now=now)
        self.say(
            f"supervisor: {s.name} (pid {pid}) exited: {describe_exit(code)}; next attempt in {delay:.1f} s",
            style="yellow",
        )
        if s.restarts.crash_loop:
            self.say(
                f"supervisor: {s.name} keeps crashing at start ({s.restarts.quick_exits} exits in a row, "
                f"each within {self.policy.stable_after:.0f} s of its start); it is started again at most every "
                f"{self.policy.maximum:.0f} s until it stays up (Ctrl-C stops the suite). "
                f"Last lines of {s.log_path}:\n{log_tail(s.log_path)}",
                style="red",
            )

    def watch(self) -> int:
        """Supervise the services until a signal asks to stop; 0 when every one then stopped cleanly.

        The loop sleeps until something happens: a child's exit (SIGCHLD), Ctrl-C or SIGTERM (each
        wakes it through ``signal.set_wakeup_fd``), or the next restart falling due. Idle, it costs
        nothing, where polling would wake it several times a second."""
        stop_requested = False

        def request_stop(signum: int, _frame: object) -> None:
            nonlocal stop_requested
            stop_requested = True

        wake, waker = socket.socketpair()
        wake.setblocking(False)
        waker.setblocking(False)
        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        # The handler does nothing: what matters is the byte Python's C handler writes to the wakeup fd.
        previous_chld = signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
        previous_fd = signal.set_wakeup_fd(waker.fileno(), warn_on_full_buffer=False)
        try:
            while not stop_requested:
                timeout = self.supervise(now=time.monotonic())
                select.select([wake], [], [], timeout)
                with contextlib.suppress(BlockingIOError):
                    while wake.recv(4096):
                        pass
        finally:
            signal.set_wakeup_fd(previous_fd)
            signal.signal(signal.SIGCHLD, previous_chld)
            wake.close()
            waker.close()
        self.say("stopping: letting in-flight requests finish…")
        self.stop()
        stopped = [s for s in self.services if s.restarts.due is None]
        clean = all(s.exit_code in (0, -signal.SIGTERM) for s in stopped)
        self.say(
            "stopped." if clean else "stopped; some services did not exit cleanly", style=None if clean else "yellow"
        )
        return 0 if clean else 1


def up(
    *,
    data_dir: Path,
    host: str,
    free_ports: bool,
    seed: bool,
    ready_timeout: float,
    only: frozenset[str] | None = None,
    scale: ScaledMode | None = None,
) -> int:
    console = Console(stderr=True)
    if scale is None:
        suite = Suite(data_dir=data_dir, host=host, free_ports=free_ports, seed=seed, console=console, only=only)
    else:
        from interchange.scale_suite import ScaledSuite  # it builds on Suite

        suite = ScaledSuite(
            data_dir=data_dir, host=host, free_ports=free_ports, seed=seed, console=console, only=only, scale=scale
        )
    taken = suite.taken_ports()
    if taken:
        for line in taken:
            suite.say(f"cannot start: {line}", style="red")
        suite.say("nothing was started: stop what holds the port(s), or use --free-ports", style="red")
        return PORT_TAKEN
    suite.start()
    try:
        if not suite.wait_ready(ready_timeout):
            suite.stop()
            return 1
        suite.mark_running()
        suite.print_summary()
        return suite.watch()
    finally:
        suite.stop()
