"""Scaled mode's configuration, without starting the suite: the one-line refusals, the generated
nginx configuration (checked by nginx itself), and what each replica is handed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from interchange.cli import app
from interchange.scale import ScaledMode, nginx_command, scaled_mode_problem, write_nginx_config
from interchange.scale_suite import ScaledSuite
from tests.conftest import skip_or_fail
from tests.e2e.test_walkthrough import pid_alive
from tests.support.processes import wait_until

POSTGRES = "postgresql+asyncpg://interchange@127.0.0.1:5432/{service}"
REDIS = "redis://127.0.0.1:6379/0"
TRUSTED = "INTERCHANGE_GATEWAY_TRUSTED_PROXIES"


def test_scale_on_sqlite_is_refused_in_one_line() -> None:
    problem = scaled_mode_problem(ScaledMode(replicas=2), environ={})
    assert problem is not None and "\n" not in problem
    assert "needs PostgreSQL" in problem and "--database-url-template" in problem


def test_scale_without_redis_is_refused() -> None:
    problem = scaled_mode_problem(ScaledMode(replicas=3, database_url_template=POSTGRES), environ={})
    assert problem is not None and "needs Redis" in problem and "--events-url" in problem


def test_a_template_without_service_is_refused() -> None:
    problem = scaled_mode_problem(ScaledMode(database_url_template="postgresql+asyncpg://h/one"), environ={})
    assert problem is not None and "{service}" in problem


def test_scaled_on_postgres_and_redis_is_accepted() -> None:
    mode = ScaledMode(replicas=2, database_url_template=POSTGRES, events_url=REDIS)
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        skip_or_fail("nginx is not installed (apt-get install nginx)")
    assert scaled_mode_problem(mode, environ={}) is None
    # The single-replica default needs nothing more.
    assert scaled_mode_problem(ScaledMode(), environ={}) is None


def test_up_with_scale_on_sqlite_exits_2_naming_what_to_give(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["up", "--scale", "2", "--data-dir", str(tmp_path)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "--scale 2 needs PostgreSQL" in result.output
    assert not (tmp_path / "suite.json").exists()  # nothing was started


def test_nginx_config_balances_each_service_and_nginx_accepts_it(tmp_path: Path) -> None:
    balanced = {"gateway": (18000, [41001, 41002]), "orders": (18201, [41003, 41004])}
    config = write_nginx_config(data_dir=tmp_path, host="127.0.0.1", balanced=balanced)
    text = config.read_text()
    for name, (public, replicas) in balanced.items():
        assert f"upstream {name} {{" in text
        assert f"listen 127.0.0.1:{public};" in text
        assert f"proxy_pass http://{name};" in text
        for port in replicas:
            assert f"server 127.0.0.1:{port} max_fails=1" in text
    assert "keepalive 32;" in text and 'proxy_set_header Connection "";' in text
    assert "proxy_next_upstream error timeout;" in text
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        skip_or_fail("nginx is not installed (apt-get install nginx)")
    (tmp_path / "logs").mkdir()
    checked = subprocess.run(
        [*nginx_command(config=config, logs=tmp_path / "logs"), "-t"], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr


@pytest.fixture
def suite(tmp_path: Path) -> ScaledSuite:
    mode = ScaledMode(replicas=2, database_url_template=POSTGRES, events_url=REDIS)
    built = ScaledSuite(
        data_dir=tmp_path, host="127.0.0.1", free_ports=True, seed=False, console=Console(quiet=True), scale=mode
    )
    built.secrets = {s.info.client_id: f"secret-of-{s.info.name}" for s in built.services}
    return built


def test_every_replica_gets_its_own_port_and_worker_id_and_the_shared_settings(suite: ScaledSuite) -> None:
    orders = suite.replicas("orders")
    assert [s.name for s in orders] == ["orders-1", "orders-2"]
    assert len({s.port for s in suite.services if not s.command}) == len([s for s in suite.services if not s.command])
    first, second = (suite.environment(s) for s in orders)
    assert (first["INTERCHANGE_ORDERS_WORKER_ID"], second["INTERCHANGE_ORDERS_WORKER_ID"]) == ("orders-1", "orders-2")
    assert first["INTERCHANGE_ORDERS_PORT"] != second["INTERCHANGE_ORDERS_PORT"]
    for key in ("INTERCHANGE_ORDERS_CLIENT_SECRET", "INTERCHANGE_ERP_URL", "INTERCHANGE_GATEWAY_URL"):
        assert first[key] == second[key]  # the same secrets, and every service called through nginx
    assert first["INTERCHANGE_ERP_URL"] == suite.urls["erp"]
    assert first["INTERCHANGE_ORDERS_DATABASE_URL"].endswith("/orders")
    assert first["INTERCHANGE_EVENTS_URL"] == REDIS
    gateway = suite.environment(suite.replicas("gateway")[0])
    assert gateway["INTERCHANGE_GATEWAY_RATE_LIMIT_STORAGE"] == REDIS
    assert gateway["INTERCHANGE_GATEWAY_RATE_LIMIT_REPLICAS"] == "2"
    inventory = suite.environment(suite.replicas("inventory")[0])
    assert inventory["INTERCHANGE_INVENTORY_THROTTLE_REPLICAS"] == "2"  # each one's share while Redis is away


def test_the_balancer_ports_are_checked_before_anything_starts(suite: ScaledSuite) -> None:
    ports = suite.ports()
    assert ports["gateway, load balancer"] == int(suite.urls["gateway"].rsplit(":", 1)[1])
    assert "orders-2" in ports and "nginx" not in ports


def test_what_an_exited_process_leaves_in_its_group_is_ended(suite: ScaledSuite) -> None:
    """nginx's worker outlives a SIGKILLed master and keeps the ports: the supervisor ends it."""
    nginx = next(s for s in suite.services if s.command)
    nginx.process = subprocess.Popen(
        ["sh", "-c", "sleep 300 & echo $!; wait"], stdout=subprocess.PIPE, start_new_session=True
    )
    assert nginx.process.stdout is not None
    with nginx.process.stdout:
        worker = int(nginx.process.stdout.readline())
    nginx.process.kill()
    code = nginx.process.wait()
    suite._exited(nginx, code, now=0.0)
    wait_until(lambda: not pid_alive(worker), seconds=10, what="the orphaned worker to be ended")
    assert nginx.restarts.due is not None  # and nginx is due to start again


def test_one_shared_database_url_is_refused_as_every_services_database() -> None:
    # INTERCHANGE_DATABASE_URL is every service's setting: accepted as "PostgreSQL", it put all the
    # services in one database (one migrations version table, one outbox, one processed_events).
    shared = {"INTERCHANGE_DATABASE_URL": "postgresql+asyncpg://interchange@127.0.0.1:5432/interchange"}
    problem = scaled_mode_problem(ScaledMode(replicas=2, events_url=REDIS), environ=shared)
    assert problem is not None and "\n" not in problem
    assert "--database-url-template" in problem and "{service}" in problem


def test_the_gateway_trusts_the_address_nginx_reaches_it_from(tmp_path: Path) -> None:
    # nginx connects to replicas bound to a host address from that address, not from 127.0.0.1:
    # trusting loopback only, the gateway saw every partner as nginx's one address.
    mode = ScaledMode(replicas=2, database_url_template=POSTGRES, events_url=REDIS)
    built = ScaledSuite(
        data_dir=tmp_path, host="127.0.0.2", free_ports=True, seed=False, console=Console(quiet=True), scale=mode
    )
    built.secrets = {s.info.client_id: "secret" for s in built.services}
    gateway = built.environment(built.replicas("gateway")[0])
    assert json.loads(gateway[TRUSTED]) == ["127.0.0.2"]
    assert json.loads(mode.environment(["gateway"], environ={}, host="10.1.2.3")[TRUSTED]) == ["10.1.2.3"]
    assert json.loads(mode.environment(["gateway"], environ={}, host="0.0.0.0")[TRUSTED]) == ["127.0.0.1"]  # noqa: S104


def test_an_ipv6_host_is_bracketed_in_the_upstreams(tmp_path: Path) -> None:
    text = write_nginx_config(data_dir=tmp_path, host="::1", balanced={"gateway": (18000, [41001])}).read_text()
    assert "server [::1]:41001 max_fails=1" in text and "listen [::1]:18000;" in text
