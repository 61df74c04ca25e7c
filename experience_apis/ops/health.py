"""The suite's health as its services report it on ``/metrics`` (the same figures Prometheus
scrapes): the circuit breaker of each upstream of each service, the ERP's call quota, the
exception queue. Read over HTTP with the operator's token, parsed with prometheus_client's parser;
a service that does not answer is listed as such, never given made-up figures."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel

from experience_apis.ops.clients import scrape_metrics

CIRCUIT = "interchange_http_upstream_circuit_state"


class Breaker(BaseModel):
    service: str
    upstream: str
    state: str


class ErpQuota(BaseModel):
    used_ratio: float | None = None
    served: float | None = None
    throttled: float | None = None


class Health(BaseModel):
    unreachable: list[str]
    breakers: list[Breaker]
    erp: ErpQuota
    queue_size: float | None = None
    queue_oldest_seconds: float | None = None


def _samples(text: str) -> Iterable[tuple[str, dict[str, str], float]]:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            yield sample.name, sample.labels, sample.value


def read(texts: dict[str, str | None]) -> Health:
    health = Health(unreachable=sorted(n for n, t in texts.items() if t is None), breakers=[], erp=ErpQuota())
    for service, text in sorted(texts.items()):
        for name, labels, value in _samples(text or ""):
            if name == CIRCUIT and value == 1.0:
                health.breakers.append(Breaker(service=service, upstream=labels["upstream"], state=labels["state"]))
            elif service == "erp" and name == "interchange_erp_quota_used_ratio":
                health.erp.used_ratio = value
            elif service == "erp" and name == "interchange_erp_calls_total":
                if labels.get("outcome") == "served":
                    health.erp.served = value
                elif labels.get("outcome") == "throttled":
                    health.erp.throttled = value
            elif service == "orders" and name == "interchange_orders_exception_queue_size":
                health.queue_size = (health.queue_size or 0.0) + value
            elif service == "orders" and name == "interchange_orders_exception_queue_oldest_age_seconds":
                health.queue_oldest_seconds = max(health.queue_oldest_seconds or 0.0, value)
    return health


async def suite_health(*, http: httpx.AsyncClient, services: dict[str, str], token: str) -> Health:
    """``services``: name -> base URL. Scraped at once, one request each."""
    texts = await asyncio.gather(*(scrape_metrics(http, base_url=url, token=token) for url in services.values()))
    return read(dict(zip(services, texts, strict=True)))


__all__ = ["Breaker", "ErpQuota", "Health", "read", "suite_health"]
