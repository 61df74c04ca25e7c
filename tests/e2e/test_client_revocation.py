"""Issue 10 items 1 and 4 on real processes (`interchange up --free-ports`): every file the suite
keeps under its data dir is owner-only, and a partner's token that works at a service directly is
refused there (401 problem) within seconds of `interchange clients disable`, then accepted again
after `interchange clients enable`."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.launcher import ROOT, launched_suite, suite_env
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

#: Bound on how long a revocation may take to reach a service: the gateway's relay and the
#: service's consumer each pick it up within a few seconds when idle.
REVOCATION_BOUND = 30.0


@pytest.fixture
def suite(tmp_path: Path) -> Iterator[tuple[Path, dict[str, Any], dict[str, str]]]:
    data_dir = tmp_path / "var"
    with launched_suite(data_dir) as described:
        yield data_dir, described, suite_env({"INTERCHANGE_DATA_DIR": str(data_dir)})


def cli(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "interchange.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def token(gateway: str, client_id: str, secret: str) -> str:
    resp = httpx.post(f"{gateway}/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def test_files_are_owner_only_and_a_disabled_client_is_refused_by_the_services_directly(
    suite: tuple[Path, dict[str, Any], dict[str, str]],
) -> None:
    data_dir, described, env = suite

    # Item 1: the data dir, its logs and every file in them (databases, -wal, -shm, keys, secrets).
    entries = [data_dir, *data_dir.rglob("*")]
    assert any(p.name.endswith("-wal") for p in entries) and (data_dir / "secrets.key").exists()
    loose = {
        str(p.relative_to(data_dir)): oct(stat.S_IMODE(p.stat().st_mode)) for p in entries if p.stat().st_mode & 0o077
    }
    assert loose == {}

    # Item 4: a partner token used at the marketplace directly, not through the gateway.
    secrets = json.loads((data_dir / "secrets.json").read_text())
    gateway, marketplace = described["gateway"], described["services"]["marketplace"]
    acme = {"Authorization": f"Bearer {token(gateway, 'acme-market', secrets['acme-market'])}"}
    zenith = {"Authorization": f"Bearer {token(gateway, 'zenith-market', secrets['zenith-market'])}"}
    with httpx.Client(base_url=marketplace, timeout=10) as direct:
        assert direct.get("/v2/webhooks", headers=acme).status_code == 200

        cli(env, "clients", "disable", "acme-market")
        refused = wait_until(
            lambda: (resp := direct.get("/v2/webhooks", headers=acme)).status_code == 401 and resp,
            seconds=REVOCATION_BOUND,
            what="the marketplace to refuse the disabled client's token",
        )
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "revoked" in refused.json()["detail"]
        assert direct.get("/v2/webhooks", headers=zenith).status_code == 200  # only that client

        cli(env, "clients", "enable", "acme-market")
        wait_until(
            lambda: direct.get("/v2/webhooks", headers=acme).status_code == 200,
            seconds=REVOCATION_BOUND,
            what="the marketplace to accept the re-enabled client's token again",
        )
