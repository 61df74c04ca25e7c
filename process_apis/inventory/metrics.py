"""The inventory service's business metrics, on the app's own registry (``/metrics``)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class InventoryMetrics:
    sync_lag: Histogram
    published: Counter
    drift_found: Counter
    drift_open: Gauge

    @classmethod
    def register(cls, registry: CollectorRegistry | None = None) -> InventoryMetrics:
        registry = registry or CollectorRegistry()
        return cls(
            sync_lag=Histogram(
                "interchange_inventory_sync_lag_seconds",
                "From a stock movement (occurred_at) to the availability.changed event reflecting it",
                ["channel"],
                buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
                registry=registry,
            ),
            published=Counter(
                "interchange_inventory_availability_published",
                "availability.changed events published",
                ["channel"],
                registry=registry,
            ),
            drift_found=Counter(
                "interchange_inventory_drift_found",
                "Channel values found different from the true availability by reconciliation",
                ["channel"],
                registry=registry,
            ),
            drift_open=Gauge(
                "interchange_inventory_drift_open",
                "Drifting channel values found by the latest reconciliation",
                registry=registry,
            ),
        )


__all__ = ["InventoryMetrics"]
