"""Scaled mode of ``interchange up --scale N``: N replicas of every service behind one nginx.

What the launcher needs beyond the embedded default, kept here so ``interchange.launcher`` stays
about starting and supervising processes:

- ``ScaledMode``: the replica count and the shared backing services (a PostgreSQL database per
  service, from a URL template with ``{service}``; Redis for events and the gateway's rate-limit
  counters), and the ``INTERCHANGE_*`` settings every replica gets from them.
- ``scaled_mode_problem``: the one line that refuses a configuration that cannot be scaled (SQLite
  files and the SQLite event log belong to one host's processes: several replicas of a service on
  one SQLite file would each run its workers on the same rows without the row locks PostgreSQL
  gives, and the event log's consumer groups live in Redis only).
- ``nginx_config``: the load balancer's configuration, generated into the data dir at each start.
  One nginx process (a master and one worker: the machine's cores are for the services) with one
  ``server`` per service on the service's public port and an ``upstream`` of its replicas.
  Keep-alive connections to the replicas; a replica that refuses the connection (killed,
  restarting) is skipped for the next one (``proxy_next_upstream error timeout``: for a POST only
  when nothing was sent yet, so a request is never applied twice by the balancer) and left out
  for ``FAIL_TIMEOUT`` seconds (``max_fails=1``), then tried again.

nginx is Debian's (``apt-get install nginx``); it runs in the foreground (``daemon off``) as a
child of the launcher, supervised like the services.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

FAIL_TIMEOUT = 2  # seconds a replica that refused a connection is left out of its upstream
KEEPALIVE = 32  # idle keep-alive connections nginx keeps to each service's replicas
NGINX = "nginx"


@dataclass(frozen=True)
class ScaledMode:
    """How many replicas of each service, and the backing services they share."""

    replicas: int = 1
    database_url_template: str = ""  # e.g. postgresql+asyncpg://user@host:5432/{service}
    events_url: str = ""  # e.g. redis://127.0.0.1:6379/0

    @property
    def balanced(self) -> bool:
        """More than one replica: each service behind the load balancer."""
        return self.replicas > 1

    def database_url(self, service: str) -> str:
        return self.database_url_template.replace("{service}", service)

    def environment(self, services: Sequence[str], *, environ: Mapping[str, str], host: str) -> dict[str, str]:
        """The settings every replica of every service gets (each of the ``services``' databases,
        the event bus, the gateway's shared rate-limit counters). Options not given are left out,
        and the gateway's settings set in ``environ`` are kept, so those apply."""
        env: dict[str, str] = {}
        if self.database_url_template:
            env |= {f"INTERCHANGE_{s.upper()}_DATABASE_URL": self.database_url(s) for s in services}
        if self.events_url:
            env["INTERCHANGE_EVENTS_URL"] = self.events_url
            if self.events_url.startswith(("redis://", "rediss://")) and self.balanced:
                # Every gateway replica counts against the same limits (gateway/ratelimit.py).
                env["INTERCHANGE_GATEWAY_RATE_LIMIT_STORAGE"] = self.events_url
                # While Redis is unreachable each replica admits its share of a limit on its own.
                env["INTERCHANGE_GATEWAY_RATE_LIMIT_REPLICAS"] = str(self.replicas)
                # Likewise each inventory replica's share of a channel's throttle (process_apis/inventory/throttle.py).
                env["INTERCHANGE_INVENTORY_THROTTLE_REPLICAS"] = str(self.replicas)
        if self.balanced:
            # The gateway believes X-Forwarded-For from the balancer only (gateway/app.py), so its
            # audit log and per-address limits see the partner's address, not nginx's. nginx reaches
            # the replicas from the address they are bound to (upstream_address), not always loopback.
            env["INTERCHANGE_GATEWAY_TRUSTED_PROXIES"] = json.dumps([upstream_address(host)])
        return {k: v for k, v in env.items() if k not in GATEWAY_TUNING or k not in environ}


#: Scaled mode's defaults for the gateway and the inventory, which the operator's own settings override.
GATEWAY_TUNING = frozenset(
    {
        "INTERCHANGE_GATEWAY_RATE_LIMIT_STORAGE",
        "INTERCHANGE_GATEWAY_RATE_LIMIT_REPLICAS",
        "INTERCHANGE_GATEWAY_TRUSTED_PROXIES",
        "INTERCHANGE_INVENTORY_THROTTLE_REPLICAS",
    }
)


def scaled_mode_problem(mode: ScaledMode, *, environ: Mapping[str, str] | None = None) -> str | None:
    """Why ``mode`` cannot run, in one line (``None``: it can)."""
    environ = os.environ if environ is None else environ
    if mode.replicas < 1:
        return f"--scale must be at least 1 (got {mode.replicas})"
    if mode.database_url_template and "{service}" not in mode.database_url_template:
        return "--database-url-template needs {service} in it (one database per service), e.g. postgresql+asyncpg://user@host/{service}"
    if not mode.balanced:
        return None
    # The template only: INTERCHANGE_DATABASE_URL is every service's setting, and would put them all
    # in one database (one migrations version table, one outbox, one processed_events).
    if not mode.database_url_template.startswith("postgresql"):
        return (
            f"--scale {mode.replicas} needs PostgreSQL, one database per service (SQLite files belong to one "
            "process host): "
            "give --database-url-template postgresql+asyncpg://user@host/{service} and --events-url redis://host:6379/0"
        )
    events = mode.events_url or environ.get("INTERCHANGE_EVENTS_URL", "")
    if not events.startswith(("redis://", "rediss://")):
        return f"--scale {mode.replicas} needs Redis for events (replicas share its consumer groups): give --events-url redis://host:6379/0"
    if shutil.which(NGINX) is None and not Path("/usr/sbin/nginx").exists():
        return f"--scale {mode.replicas} needs nginx as the load balancer: sudo apt-get install nginx"
    return None


def nginx_binary() -> str:
    return shutil.which(NGINX) or "/usr/sbin/nginx"


def upstream_address(host: str) -> str:
    """Where nginx reaches a replica bound to ``host`` (a wildcard bind is reached on loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104 - compared, not bound


def nginx_config(*, run_dir: Path, host: str, balanced: Mapping[str, tuple[int, Sequence[int]]]) -> str:
    """nginx.conf for ``balanced``: service -> (its public port, its replicas' ports)."""
    run = run_dir.resolve()
    # As root, nginx's workers would drop to ``nobody``, who cannot enter the owner-only data dir:
    # they run as the launcher's user instead, as every service does.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    listen = host if ":" not in host else f"[{host}]"
    target = upstream_address(host)
    target = target if ":" not in target else f"[{target}]"
    blocks = []
    for name, (public, replicas) in balanced.items():
        servers = "".join(f"        server {target}:{p} max_fails=1 fail_timeout={FAIL_TIMEOUT}s;\n" for p in replicas)
        blocks.append(
            f"    upstream {name} {{\n{servers}        keepalive {KEEPALIVE};\n    }}\n"
            f"    server {{\n        listen {listen}:{public};\n"
            f"        location / {{ proxy_pass http://{name}; }}\n    }}\n"
        )
    return (
        "# Generated by `interchange up --scale N` (interchange/scale.py) at each start: edits are lost.\n"
        "daemon off;\n"
        "worker_processes 1;\n"
        f"{user}"
        f"pid {run}/nginx.pid;\n"
        "events { worker_connections 4096; }\n"
        "http {\n"
        "    access_log off;\n"
        "    server_tokens off;\n"
        f"    client_body_temp_path {run}/client_body;\n"
        f"    proxy_temp_path {run}/proxy;\n"
        f"    fastcgi_temp_path {run}/fastcgi;\n"
        f"    uwsgi_temp_path {run}/uwsgi;\n"
        f"    scgi_temp_path {run}/scgi;\n"
        "    client_max_body_size 16m;  # the gateway caps bodies itself, with a problem+json answer\n"
        "    proxy_http_version 1.1;\n"
        '    proxy_set_header Connection "";  # keep-alive to the replicas\n'
        "    proxy_set_header Host $http_host;\n"
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "    proxy_set_header X-Forwarded-Proto $scheme;\n"
        "    proxy_redirect off;\n"
        "    proxy_connect_timeout 2s;\n"
        "    proxy_read_timeout 60s;\n"
        "    proxy_next_upstream error timeout;\n"
        "    proxy_next_upstream_timeout 10s;\n"
        "\n" + "\n".join(blocks) + "}\n"
    )


def nginx_command(*, config: Path, logs: Path) -> list[str]:
    """nginx in the foreground on ``config``, its error log (``-e``, from before the config is
    read) in ``logs``."""
    return [nginx_binary(), "-p", str(config.parent), "-c", str(config), "-e", str(logs / "nginx.log")]


def write_nginx_config(*, data_dir: Path, host: str, balanced: Mapping[str, tuple[int, Sequence[int]]]) -> Path:
    """Write nginx.conf (and its temp folders) under ``<data_dir>/nginx``; its path."""
    run_dir = data_dir / "nginx"
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    config = run_dir / "nginx.conf"
    config.write_text(nginx_config(run_dir=run_dir, host=host, balanced=balanced))
    return config


__all__ = [
    "FAIL_TIMEOUT",
    "ScaledMode",
    "nginx_command",
    "nginx_config",
    "scaled_mode_problem",
    "upstream_address",
    "write_nginx_config",
]
