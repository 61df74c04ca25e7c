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
        import granian.server.embed, httpx, gateway.app
        loaded = sorted(m for m in ("httpx._main", "click", "watchfiles") if sys.modules.get(m) is not None)
        print(json.dumps({"loaded": loaded, "httpx_client": httpx.AsyncClient.__name__}))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.splitlines()[-1]) == {"loaded": [], "httpx_client": "AsyncClient"}


def test_importing_the_module_changes_nothing() -> None:
    script = "import sys, gateway.serve; print('httpx._main' in sys.modules, 'watchfiles' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
