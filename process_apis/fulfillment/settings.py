"""The fulfilment service's own knobs, on top of what every service has.

Environment: ``INTERCHANGE_FULFILLMENT_<NAME>``, e.g.
``INTERCHANGE_FULFILLMENT_WAREHOUSE_PARTNERS='{"WH-3PL": "northwind-3pl"}'``.
"""

from __future__ import annotations

from typing import Literal

from service_kit.settings import ServiceSettings

#: Crash tests only (``service_kit.saga.injection``): the ERP answered, nothing recorded yet.
InjectionPoint = Literal["", "invoice_answered", "credit_memo_answered"]


class FulfillmentSettings(ServiceSettings):
    #: Warehouses operated by a 3PL partner: warehouse code -> partner id. An order released to
    #: one of them becomes a fulfilment request for that partner; the others ship through the WMS.
    warehouse_partners: dict[str, str] = {"WH-3PL": "northwind-3pl"}
    #: Run the saga worker inside this process (tests turn it off and drive passes themselves).
    worker_enabled: bool = True
    #: Seconds between passes when nothing wakes the worker earlier.
    worker_poll_interval: float = 2.0
    #: Rows handled per pass at most, and at the same time.
    worker_batch_size: int = 100
    worker_concurrency: int = 4
    #: Seconds a row stays claimed without progress (a crashed worker's rows come back after it;
    #: at once when the same worker restarts).
    worker_claim_lease: float = 60.0
    #: This worker's name in claims; default ``<host>:<port>``, stable across restarts.
    worker_id: str = ""
    #: Technical failures: backoff initial * 2^(attempts-1) capped at max, jittered; parked after max_attempts.
    retry_backoff_initial: float = 2.0
    retry_backoff_max: float = 300.0
    retry_max_attempts: int = 6
    #: Crash tests only: where this process stops itself (SIGSTOP) the first time. Empty: none.
    injection_point: InjectionPoint = ""


__all__ = ["FulfillmentSettings", "InjectionPoint"]
