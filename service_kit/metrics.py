"""The suite's business metrics, declared in one place and registered on each app's own registry.

Names follow ``interchange_<area>_<what>_<unit>``; labels are only ``channel``, ``outcome``,
``step`` and ``upstream``, so a dashboard reads every service the same way:

    interchange_orders_total{channel, outcome}            received, accepted, rejected, parked
    interchange_orders_saga_step_duration_seconds{step, outcome}   succeeded, refused, failed
    interchange_orders_exception_queue_size                orders on hold for a person (at scrape)
    interchange_orders_exception_queue_oldest_age_seconds  the longest parked one (at scrape)
    interchange_orders_master_data_snapshot_timestamp_seconds  the ERP master data snapshot loaded (0: not yet)
    interchange_erp_calls_total{outcome}                   served, throttled (the ERP's quota)
    interchange_erp_quota_used_ratio                       share of the current second's quota used
    interchange_erp_quota_limit_per_second                 the quota (use: rate of the calls over it)
    interchange_webhooks_deliveries_total{outcome}         delivered, retrying, dead
    interchange_webhooks_delivery_duration_seconds{outcome}
    interchange_http_upstream_circuit_state{upstream, state}   1 for the circuit's state (closed,
                                                           half-opened, opened), 0 for the others
    interchange_inventory_sync_lag_seconds{channel}        (process_apis.inventory.metrics)

``create_service_app`` builds one ``BusinessMetrics`` per app (``app.state.metrics``): several apps
in one process (the tests) each have their own registry, and nothing registers at import. A hot
path takes its labelled child once (``orders_counter``) and keeps it; ``labels()`` per call costs
more than the increment. Values that live in a database (the exception queue) are read when
Prometheus scrapes, by an async hook (``on_scrape``) the ``/metrics`` endpoint awaits first: the
registry's own collectors are synchronous and cannot query an async database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from service_kit.guards import circuit_states

ScrapeHook = Callable[[], Awaitable[None]]

#: The states a circuit can be in (purgatory's names).
CIRCUIT_STATES = ("closed", "half-opened", "opened")

_STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class BusinessMetrics:
    """Every business metric of one app, on that app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.orders = Counter(
            "interchange_orders",
            "Orders by channel and what happened to them: received (intake), accepted (the ERP sales "
            "order exists), rejected, parked (on hold for a person)",
            ["channel", "outcome"],
            registry=registry,
        )
        self.saga_step = Histogram(
            "interchange_orders_saga_step_duration_seconds",
            "Time one saga step took, calls to the tier below included",
            ["step", "outcome"],
            buckets=_STEP_BUCKETS,
            registry=registry,
        )
        self.exception_queue_size = Gauge(
            "interchange_orders_exception_queue_size",
            "Orders on hold for a person (the exception queue), read at scrape time",
            registry=registry,
        )
        self.exception_queue_oldest = Gauge(
            "interchange_orders_exception_queue_oldest_age_seconds",
            "How long the longest-parked order of the exception queue has waited, read at scrape time",
            registry=registry,
        )
        self.erp_calls = Counter(
            "interchange_erp_calls",
            "Calls the ERP received, by outcome: served, or throttled by its call quota (429)",
            ["outcome"],
            registry=registry,
        )
        self.erp_quota_used = Gauge(
            "interchange_erp_quota_used_ratio",
            "Share of the ERP's per-second call quota used in the current second, at scrape time (0 without a quota)",
            registry=registry,
        )
        self.erp_quota_limit = Gauge(
            "interchange_erp_quota_limit_per_second",
            "The ERP's call quota (calls per second across all callers; 0: none). Quota used: "
            "rate(interchange_erp_calls_total[1m]) over this",
            registry=registry,
        )
        self.webhook_deliveries = Counter(
            "interchange_webhooks_deliveries",
            "Webhook delivery attempts to partners, by outcome: delivered, retrying (failed, will be "
            "tried again), dead (failed for good)",
            ["outcome"],
            registry=registry,
        )
        self.webhook_latency = Histogram(
            "interchange_webhooks_delivery_duration_seconds",
            "Time one webhook delivery attempt took, by outcome",
            ["outcome"],
            registry=registry,
        )
        self.master_data_snapshot = Gauge(
            "interchange_orders_master_data_snapshot_timestamp_seconds",
            "When the orders process last loaded the ERP's master data snapshot (Unix time; 0: not yet, "
            "so intake and the saga ask the ERP for what they need)",
            registry=registry,
        )
        self._scrape_hooks: list[ScrapeHook] = []
        self._children: dict[Any, Any] = {}  # labelled children, looked up once per label set

    def orders_counter(self, *, channel: str, outcome: str) -> Any:
        """The labelled child for one channel and outcome, looked up once per pair."""
        key = ("orders", channel, outcome)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.orders.labels(channel, outcome)
        return child

    def webhook_attempt(self, *, outcome: str, seconds: float) -> None:
        """One webhook delivery attempt: delivered, retrying or dead."""
        children = self._children.get(outcome)
        if children is None:
            children = self._children[outcome] = (
                self.webhook_deliveries.labels(outcome),
                self.webhook_latency.labels(outcome),
            )
        children[0].inc()
        children[1].observe(seconds)

    def saga_step_timer(self, *, step: str, outcome: str) -> Any:
        """The histogram child of one saga step and outcome, looked up once per pair."""
        key = ("step", step, outcome)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.saga_step.labels(step, outcome)
        return child

    def watch_circuits(self, http: Callable[[], httpx.AsyncClient | None]) -> None:
        """Export the circuit state of every upstream of the app's HTTP client (``http()`` at scrape
        time: the client exists only while the app runs)."""
        self.registry.register(_CircuitCollector(http))

    def on_scrape(self, hook: ScrapeHook) -> None:
        """Run ``hook`` (which sets gauges, e.g. from the database) before every scrape."""
        self._scrape_hooks.append(hook)

    async def refresh(self) -> None:
        """Called by ``/metrics`` before it renders the registry."""
        for hook in self._scrape_hooks:
            await hook()


class _CircuitCollector(Collector):
    """``interchange_http_upstream_circuit_state``, read from the breakers when Prometheus scrapes
    (no work on the calls themselves)."""

    def __init__(self, http: Callable[[], httpx.AsyncClient | None]) -> None:
        self._http = http

    def describe(self) -> list[Any]:
        return [self._family()]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self._family()
        client = self._http()
        states = circuit_states(client) if client is not None else {}
        for upstream, current in sorted(states.items()):
            for state in CIRCUIT_STATES:
                family.add_metric([upstream, state], 1.0 if state == current else 0.0)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "interchange_http_upstream_circuit_state",
            "Circuit breaker state per upstream: 1 for the state it is in",
            labels=["upstream", "state"],
        )


__all__ = ["CIRCUIT_STATES", "BusinessMetrics"]
