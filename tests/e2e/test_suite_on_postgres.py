"""Issue 9: the same suite on PostgreSQL and Redis, without changing code. One throwaway
PostgreSQL server with one database per service, a throwaway redis-server as the event bus, the
whole suite started by the launcher with only ``INTERCHANGE_<SERVICE>_DATABASE_URL`` and
``INTERCHANGE_EVENTS_URL`` set; then the README's first partner order through the gateway reaches
ACCEPTED with its ERP sales order and its WMS reservation, and its status read answers; started
again on the same databases, the order is still there."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from contracts.events.orders import OrderAcceptedV1
from interchange.services import available_services
from tests.conftest import skip_or_fail
from tests.e2e.test_walkthrough import Launcher, demo_order, run_walkthrough
from tests.support.postgres import PostgresServer, postgres_server  # noqa: F401 - fixture
from tests.support.redis_server import redis_server_url

pytestmark = pytest.mark.e2e


def read_from(path: Path, offset: int) -> list[str]:
    with path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace").splitlines()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server_url(tmp_path / "redis") as url:
        yield url


@pytest.fixture
def service_databases(postgres_server: PostgresServer) -> Iterator[dict[str, str]]:  # noqa: F811
    """One new database per service on the session's server, dropped afterwards."""
    names = {info.name: postgres_server.create_database() for info in available_services()}
    yield {service: postgres_server.url(name) for service, name in names.items()}
    for name in names.values():
        postgres_server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_first_partner_order_on_postgres_and_redis(
    tmp_path: Path,
    postgres_server: PostgresServer,  # noqa: F811
    service_databases: dict[str, str],
    redis_url: str,
) -> None:
    if shutil.which("curl") is None:
        skip_or_fail("curl is not installed (the README's walk-through uses it)")
    data_dir = tmp_path / "var"
    settings = {f"INTERCHANGE_{s.upper()}_DATABASE_URL": url for s, url in service_databases.items()}
    settings["INTERCHANGE_EVENTS_URL"] = redis_url
    log_start = postgres_server.log.stat().st_size
    launcher = Launcher(data_dir, settings)
    try:
        out = run_walkthrough(str(launcher.suite["gateway"]), data_dir)
        compact = out.replace(" ", "")
        assert '"order_status":"ACCEPTED"' in compact, launcher.output()
        assert re.search(r'"seller_order_number":\s*"SO-', out)

        # Nothing went to SQLite: no service database file in the data directory.
        # (The reference shop beside the suite is the storefront's stand-in, not a service: its file is its own.)
        assert not sorted(p.name for p in data_dir.glob("*.db") if p.name != "storefront_shop.db")
        # The order, its ERP sales order and its WMS allocation are rows in their services' PostgreSQL.
        orders_db, erp_db, wms_db = (service_databases[s].rsplit("/", 1)[1] for s in ("orders", "erp", "wms"))
        order_id, status = postgres_server.execute("SELECT id, status FROM orders", database=orders_db).split("|")
        assert status in ("accepted", "released")  # then released to the warehouse by the saga
        refs = postgres_server.execute("SELECT ext_ref FROM erp_sales_orders", database=erp_db).split()
        assert any(order_id in ref for ref in refs), (order_id, refs)
        allocated = postgres_server.execute("SELECT order_ref FROM wms_allocations", database=wms_db).split()
        assert any(order_id in ref for ref in allocated), (order_id, allocated)
        # Its events went through Redis.
        with redis.Redis.from_url(redis_url, decode_responses=True) as bus:
            types = {fields["type"] for _, fields in bus.xrange("interchange:events")}
        assert OrderAcceptedV1.event_type in types
        # And PostgreSQL refused nothing the services sent while the suite ran.
        assert not [line for line in read_from(postgres_server.log, log_start) if " ERROR: " in line]
    finally:
        code = launcher.stop()
    assert code == 0, launcher.output()

    # Started again on the same databases: each is at its head already, the demo seed is not
    # repeated, and the order is still there.
    log_start = postgres_server.log.stat().st_size
    again = Launcher(data_dir, settings)
    try:
        status = demo_order(data_dir, str(again.suite["gateway"]))
        assert status.status_code == 200
        assert status.json()["order_status"] == "ACCEPTED"
        assert not [line for line in read_from(postgres_server.log, log_start) if " ERROR: " in line]
    finally:
        assert again.stop() == 0, again.output()
