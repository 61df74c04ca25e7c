"""Whether the suite's ports are free, and who holds a taken one.

A port is tried the way uvicorn binds it (asyncio's ``create_server``: ``SO_REUSEADDR``, so a
connection of a stopped suite still in TIME_WAIT is no conflict). The holder of a taken port is
looked up in ``/proc`` (Linux): the listening socket's inode in ``/proc/net/tcp`` and
``/proc/net/tcp6``, then the process with that socket among its ``/proc/<pid>/fd``. psutil would
do the same but is not a dependency, and this is all the launcher needs of it. A process of
another user cannot be seen without privileges: then only its uid is known.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from interchange.services import ServiceInfo

LISTEN = "0A"  # TCP_LISTEN, as /proc/net/tcp writes a socket's state
PROC = Path("/proc")


@dataclass(frozen=True)
class Holder:
    pid: int | None
    command: str
    uid: int | None = None

    def __str__(self) -> str:
        if self.pid is not None:
            return f"pid {self.pid} ({self.command})"
        return f"a process of uid {self.uid} (not visible to this user)" if self.uid is not None else "unknown"


@dataclass(frozen=True)
class TakenPort:
    service: str
    host: str
    port: int
    reason: str
    holder: Holder | None

    def __str__(self) -> str:
        held = f", held by {self.holder}" if self.holder else ""
        return f"port {self.port} ({self.service}) on {self.host}: {self.reason}{held}"


def free_port(host: str) -> int:
    """A port free on ``host`` now (the kernel's pick)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def service_port(info: ServiceInfo, *, host: str, free_ports: bool) -> int:
    """``INTERCHANGE_<SERVICE>_PORT`` when set (the service's own setting), else a free port or
    the default."""
    explicit = os.environ.get(f"INTERCHANGE_{info.name.upper()}_PORT")
    if explicit:
        return int(explicit)
    return free_port(host) if free_ports else info.port


def bind_error(*, host: str, port: int) -> OSError | None:
    """Why ``host:port`` cannot be bound now (``None``: it can)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc
    return None


def _listening_inodes(port: int) -> dict[int, int]:
    """Inode -> uid of every socket listening on ``port`` (any address, IPv4 or IPv6)."""
    found: dict[int, int] = {}
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN:
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                found[int(fields[9])] = int(fields[7])
    return found


def _command(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "?"
    command = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    return command if len(command) <= 200 else command[:197] + "..."


def holder_of(port: int) -> Holder | None:
    """The process listening on ``port``, from /proc; ``None`` when nothing listens there (or
    there is no /proc)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:  # another user's process, or it has just exited
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target in wanted:
                pid = int(entry.name)
                return Holder(pid=pid, command=_command(pid))
    return Holder(pid=None, command="", uid=next(iter(inodes.values())))


def taken_ports(*, host: str, ports: dict[str, int]) -> list[TakenPort]:
    """The ports of ``ports`` (service -> port) that cannot be bound on ``host``, with why and,
    when one is in use and can be found, the process holding it."""
    taken = []
    for service, port in ports.items():
        error = bind_error(host=host, port=port)
        if error is None:
            continue
        in_use = error.errno == errno.EADDRINUSE
        reason = "already in use" if in_use else (error.strerror or str(error))
        taken.append(TakenPort(service, host, port, reason, holder_of(port) if in_use else None))
    return taken


__all__ = ["Holder", "TakenPort", "bind_error", "free_port", "holder_of", "service_port", "taken_ports"]
