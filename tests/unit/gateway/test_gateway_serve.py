"""What the gateway's server process (``python -m gateway.serve``) loads."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from typing import Any

import httpx

from tests.support.processes import wait_until


def test_the_serving_process_keeps_out_modules_it_never_uses() -> None:
    # In a fresh interpreter: this test process has imported them already.
    script = textwrap.dedent(
        """
        import json, sys
        from gateway.serve import keep_out_unused
        keep_out_unused()
        import granian.server.embed, httpx, gateway.app, structlog
        structlog.configure(processors=[structlog.dev.ConsoleRenderer(colors=False)])
        try:
            1 / 0
        except ZeroDivisionError:
            structlog.get_logger().exception("still logged")  # a plain traceback without rich
        kept_out = ("httpx._main", "click", "watchfiles", "rich", "pygments")
        loaded = sorted(m for m in kept_out if sys.modules.get(m) is not None)
        print(json.dumps({"loaded": loaded, "httpx_client": httpx.AsyncClient.__name__}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == {"loaded": [], "httpx_client": "AsyncClient"}
    assert "still logged" in done.stdout + done.stderr
    assert "ZeroDivisionError: division by zero" in done.stdout + done.stderr


def test_importing_the_module_changes_nothing() -> None:
    script = "import sys, gateway.serve; print(*(m in sys.modules for m in ('httpx._main', 'watchfiles', 'rich')))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False"]


class _HelloRsgi:
    """An app with granian's own interface only (RSGI), for ``--interface rsgi``."""

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        proto.response_bytes(200, [("content-type", "text/plain")], f"rsgi {scope.method} {scope.path}".encode())


hello_rsgi = _HelloRsgi()


def _answer(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return None


def test_the_serving_process_runs_an_rsgi_app_with_interface_rsgi() -> None:
    # The benchmarks' RSGI floor (bench/_floor.py) is served this way.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = f"{__name__}:hello_rsgi"
    command = [sys.executable, "-m", "gateway.serve", target, "--port", str(port), "--interface", "rsgi"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        resp = wait_until(lambda: _answer(f"http://127.0.0.1:{port}/hello"), seconds=60, what="the RSGI app")
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert resp.status_code == 200
    assert resp.text == "rsgi GET /hello"
