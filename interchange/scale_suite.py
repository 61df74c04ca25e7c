"""``interchange up --scale N``: the launcher's ``Suite`` with N replicas of every service behind nginx.

Each service's public address (its default port, or a free one with ``--free-ports``) is nginx's;
its replicas listen on free ports of their own, which only nginx knows. Every replica is handed the
public addresses (``INTERCHANGE_<SERVICE>_URL``), so services call each other, and the gateway its
upstreams, through the balancer. A replica keeps its port and its worker id (``orders-2``) across
restarts, so a restarted orders replica releases the saga claims it held before it died.

Start-up goes in two waves: the first replica of every service and nginx, then, once those are
ready (databases migrated, demo data seeded once), the others. Supervision is the launcher's:
a replica or nginx that exits is started again with back-off.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from rich.console import Console

from interchange.launcher import RunningService, Suite
from interchange.ports import free_port
from interchange.scale import ScaledMode, nginx_command, write_nginx_config
from interchange.services import ServiceInfo
from interchange.supervisor import RestartPolicy, Restarts

BALANCER = ServiceInfo("nginx", "balancer", "nginx")


class ScaledSuite(Suite):
    def __init__(
        self,
        *,
        data_dir: Path,
        host: str,
        free_ports: bool,
        seed: bool,
        console: Console,
        scale: ScaledMode,
        only: frozenset[str] | None = None,
        policy: RestartPolicy | None = None,
    ) -> None:
        super().__init__(
            data_dir=data_dir, host=host, free_ports=free_ports, seed=seed, console=console, only=only, policy=policy
        )
        self.scale = scale
        if not scale.balanced:
            return  # one process per service, on the given databases: the plain suite's layout
        logs = self.data_dir / "logs"
        self.services = [
            RunningService(
                info,
                f"http://{host}:{free_port(host)}",
                logs / f"{info.name}-{replica}.log",
                restarts=Restarts(self.policy),
                replica=replica,
            )
            for replica in range(1, scale.replicas + 1)
            for info in self.started
        ]
        # nginx counts as ready once it passes /health/ready through to a replica of the gateway.
        front = "gateway" if any(info.name == "gateway" for info in self.started) else self.started[0].name
        command = tuple(nginx_command(config=self.data_dir / "nginx" / "nginx.conf", logs=logs))
        self.services.append(
            RunningService(
                BALANCER, self.urls[front], logs / "nginx.out", restarts=Restarts(self.policy), command=command
            )
        )

    def replicas(self, name: str) -> list[RunningService]:
        return [s for s in self.services if s.info.name == name and not s.command]

    def ports(self) -> dict[str, int]:
        if not self.scale.balanced:
            return super().ports()
        ports = {s.name: s.port for s in self.services if not s.command}
        for info in self.started:
            ports[f"{info.name}, load balancer"] = int(self.urls[info.name].rsplit(":", 1)[1])
        return ports

    def gateway_database_url(self) -> str:
        if self.scale.database_url_template:
            return self.scale.database_url("gateway")
        return super().gateway_database_url()

    def environment(self, service: RunningService) -> dict[str, str]:
        if service.command:  # nginx: the launcher's environment, nothing of ours
            return dict(os.environ)
        env = super().environment(service)
        env.update(self.scale.environment(list(self.urls), environ=os.environ, host=self.host))
        if service.replica:  # its own worker id (orders' saga claims), the same after a restart
            env[f"INTERCHANGE_{service.info.name.upper()}_WORKER_ID"] = service.name
        return env

    def start_wave(self, *, first: bool) -> None:
        if first and self.scale.balanced:  # after start()'s umask and bootstrap, before nginx starts
            public = {info.name: int(self.urls[info.name].rsplit(":", 1)[1]) for info in self.started}
            balanced = {name: (port, [s.port for s in self.replicas(name)]) for name, port in public.items()}
            write_nginx_config(data_dir=self.data_dir, host=self.host, balanced=balanced)
        super().start_wave(first=first)

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """The first wave ready, then the other replicas started and ready."""
        if not super().wait_ready(timeout):
            return False
        if all(s.process is not None for s in self.services):
            return True
        self.say(f"first replicas ready; starting the other {self.scale.replicas - 1} of each service")
        self.start_wave(first=False)
        return super().wait_ready(timeout)

    def _exited(self, s: RunningService, code: int, *, now: float) -> None:
        """Also end what the exited process left in its process group: a SIGKILLed nginx master
        leaves its worker serving on the ports, and the new master could not bind them."""
        if s.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(s.process.pid, signal.SIGKILL)  # its own group: started in a new session
        super()._exited(s, code, now=now)

    def print_balancer(self) -> None:
        if self.scale.balanced:
            where = ", ".join(f"{info.name} {self.urls[info.name]}" for info in self.started)
            self.console.print(f"nginx balances each service over its {self.scale.replicas} replicas: {where}")


__all__ = ["ScaledSuite"]
