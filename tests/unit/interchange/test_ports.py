"""The launcher's port check: a taken port is named, with the process that holds it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from interchange.ports import holder_of, taken_ports
from tests.conftest import skip_or_fail


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


@pytest.fixture
def proc() -> None:
    if not Path("/proc/net/tcp").exists():
        skip_or_fail("the holder of a port is looked up in /proc (Linux)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_port_in_use_is_named_with_its_service_and_the_process_holding_it(
    listener: socket.socket, proc: None
) -> None:
    port = listener.getsockname()[1]
    free = free_port()
    [taken] = taken_ports(host="127.0.0.1", ports={"erp": free, "wms": port})
    assert (taken.service, taken.port, taken.reason) == ("wms", port, "already in use")
    assert taken.holder is not None and taken.holder.pid == os.getpid()
    assert "python" in taken.holder.command or "pytest" in taken.holder.command
    assert str(taken).startswith(f"port {port} (wms) on 127.0.0.1: already in use, held by pid {os.getpid()} (")


def test_a_listener_on_every_address_blocks_the_loopback_port_too(proc: None) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("0.0.0.0", 0))  # noqa: S104 - the test's own listener
        sock.listen()
        port = sock.getsockname()[1]
        [taken] = taken_ports(host="127.0.0.1", ports={"gateway": port})
        assert taken.holder is not None and taken.holder.pid == os.getpid()


def test_free_ports_pass_and_nothing_holds_them() -> None:
    port = free_port()
    assert taken_ports(host="127.0.0.1", ports={"erp": port}) == []
    assert holder_of(port) is None


def test_a_port_that_cannot_be_bound_for_another_reason_says_why() -> None:
    # 192.0.2.1 (TEST-NET-1) is not an address of this machine.
    [taken] = taken_ports(host="192.0.2.1", ports={"erp": free_port()})
    assert taken.holder is None
    assert "assign" in taken.reason  # "Cannot assign requested address"
