"""What the gateway's server process (``python -m gateway.serve``) loads."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


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
