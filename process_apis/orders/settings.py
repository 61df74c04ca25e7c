"""The orders service's own knobs, on top of what every service has.

Environment: ``INTERCHANGE_ORDERS_<NAME>`` (e.g. ``INTERCHANGE_ORDERS_WORKER_POLL_INTERVAL=2``).
"""

from __future__ import annotations

from pydantic import Field

from contracts import MAX_SALES_ORDER_BATCH
from process_apis.orders.clients.wms import MAX_WMS_BATCH
from process_apis.orders.flows.injection import InjectionPoint
from service_kit.settings import ServiceSettings


class OrdersSettings(ServiceSettings):
    #: Run the order worker inside this process (tests turn it off and drive passes themselves).
    worker_enabled: bool = True
    #: Seconds the worker sleeps between passes when intake does not wake it earlier.
    worker_poll_interval: float = 5.0
    #: Orders handled per pass at most, so one pass stays bounded.
    worker_batch_size: int = 200
    #: Orders the worker runs at the same time (each one step at a time).
    worker_concurrency: int = 8
    #: Seconds an order stays claimed without progress; a crashed worker's orders are picked up
    #: after it (at once by the same worker restarted: it releases its own claims on start-up).
    worker_claim_lease: float = 60.0
    #: This worker's name in claims; default ``<host>:<port>``, stable across restarts.
    worker_id: str = ""
    #: After a technical failure the next attempt waits about initial * 2^(attempts-1), capped at
    #: max, with jitter; after ``retry_max_attempts`` failures in a row the order is parked.
    retry_backoff_initial: float = 5.0
    retry_backoff_max: float = 900.0
    retry_max_attempts: int = 8
    #: Pace calls to the ERP to at most this many per second (0: no pacing; set it just under
    #: the ERP's quota). 429 answers are honoured either way.
    erp_calls_per_second: float = 0.0
    #: Consecutive failures that open an upstream's circuit, and seconds it stays open.
    breaker_threshold: int = 5
    breaker_ttl: float = 30.0
    #: Seconds a customer's terms or a price list from the ERP count as fresh after they were last
    #: confirmed (snapshot, event or call); older ones are asked of the ERP again before the saga
    #: prices or checks credit on them (0: always ask). Intake uses older ones when the ERP is down.
    master_data_max_age: float = 300.0
    #: Gather the orders due for their pivot into one ERP batch call of at most this many (the
    #: ERP's published limit at most: a larger batch would be refused whole).
    pivot_batch_size: int = Field(default=MAX_SALES_ORDER_BATCH, ge=1, le=MAX_SALES_ORDER_BATCH)
    #: Gather the orders due for their WMS reservation (and pick release) into one WMS batch call
    #: of at most this many (the WMS's published limit at most).
    wms_batch_size: int = Field(default=MAX_WMS_BATCH, ge=1, le=MAX_WMS_BATCH)
    #: Seconds between two prunings of idempotency keys older than 24 hours.
    idempotency_prune_interval: float = 3600.0
    #: Crash tests only: the named place where this process stops itself (SIGSTOP) the first time
    #: (``flows.injection``). Empty, the default: none.
    injection_point: InjectionPoint = ""


__all__ = ["OrdersSettings"]
