"""The Grafana dashboard (docs/grafana/interchange.json) queries only metrics the services really
export: every service of the suite is started in process and scraped (the gateway with an
operator's ops token), and every metric name in the dashboard's queries must be among them. Every
business metric the kit declares (service_kit.metrics) is on the dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from gateway.clients import create_client
from service_kit.metrics import BusinessMetrics
from tests.support.suite import InProcessSuite, running_suite

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana" / "interchange.json"
_METRIC = re.compile(r"\binterchange_[a-z0-9_]+")
_TYPE = re.compile(r"^# TYPE (\S+) (\S+)$", re.MULTILINE)
#: The series Prometheus stores for each metric type (prometheus_client's exposition).
_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count", "")}


def queried(dashboard: dict[str, object]) -> set[str]:
    """Every metric name in the dashboard's queries."""
    names: set[str] = set()
    for panel in dashboard["panels"]:  # type: ignore[attr-defined]
        for target in panel.get("targets", []):
            names.update(_METRIC.findall(target["expr"]))
    return names


def series(exposition: str) -> set[str]:
    """The series names an exposition text gives Prometheus."""
    return {name + suffix for name, kind in _TYPE.findall(exposition) for suffix in _SUFFIXES.get(kind, ("",))}


async def scrape_all(suite: InProcessSuite) -> dict[str, str]:
    gateway_db = suite.apps["gateway"].state.db
    client_id, secret = await create_client(gateway_db, client_id="prometheus", kind="internal", scopes=["ops"])
    suite.secrets[client_id] = secret
    ops = {"Authorization": f"Bearer {await suite.token(client_id, scope='ops')}"}
    scraped: dict[str, str] = {}
    for name in suite.apps:
        async with suite.client(name) as client:
            resp = await client.get("/metrics", headers=ops if name == "gateway" else None)
        assert resp.status_code == 200, (name, resp.text)
        scraped[name] = resp.text
    return scraped


async def test_every_metric_the_dashboard_queries_is_exported(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    async with running_suite(tmp_path) as suite:
        scraped = await scrape_all(suite)

    exported = set().union(*(series(text) for text in scraped.values()))
    used = queried(dashboard)
    assert used, "the dashboard queries no interchange_ metric"
    assert sorted(used - exported) == []
    # The stock sync lag is the inventory service's, the circuits are every service's.
    assert "interchange_inventory_sync_lag_seconds_bucket" in series(scraped["inventory"])
    assert "interchange_http_upstream_circuit_state" in series(scraped["orders"])


def test_every_business_metric_is_on_the_dashboard() -> None:
    declared = series(generate_latest(BusinessMetrics(CollectorRegistry()).registry).decode())
    on_dashboard = {name.removesuffix("_bucket") for name in queried(json.loads(DASHBOARD.read_text()))}

    missing = {
        name
        for name in declared
        if name not in on_dashboard and not name.endswith(("_sum", "_count", "_bucket", "_created"))
    }
    histograms = {name.removesuffix("_bucket") for name in declared if name.endswith("_bucket")}
    assert sorted(missing | (histograms - on_dashboard)) == []
