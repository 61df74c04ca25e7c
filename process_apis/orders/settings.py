"""The orders service's own knobs, on top of what every service has.

Environment: ``INTERCHANGE_ORDERS_<NAME>`` (e.g. ``INTERCHANGE_ORDERS_WORKER_POLL_INTERVAL=2``).
"""

from __future__ import annotations

from service_kit.settings import ServiceSettings


class OrdersSettings(ServiceSettings):
    #: Run the order worker inside this process (tests turn it off and drive passes themselves).
    worker_enabled: bool = True
    #: Seconds the worker sleeps between passes when intake does not wake it earlier.
    worker_poll_interval: float = 5.0
    #: Orders handled per pass at most, so one pass stays bounded.
    worker_batch_size: int = 50
    #: Seconds an order stays claimed by a pass; a crashed worker's orders are picked up after it.
    worker_claim_lease: float = 120.0
    #: After a technical failure the next attempt waits initial * 2^(attempts-1), capped at max.
    retry_backoff_initial: float = 5.0
    retry_backoff_max: float = 900.0


__all__ = ["OrdersSettings"]
