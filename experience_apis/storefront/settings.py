"""The storefront service's settings (``INTERCHANGE_STOREFRONT_<NAME>``) beside the kit's."""

from __future__ import annotations

from pydantic import Field, SecretStr

from service_kit.settings import ServiceSettings


class StorefrontSettings(ServiceSettings):
    #: The storefront's admin API (``INTERCHANGE_STOREFRONT_ADMIN_URL``).
    admin_url: str = "http://127.0.0.1:9102/admin/api/2024-01"
    #: Its access token, sent as ``X-Storefront-Access-Token`` (empty: none).
    admin_token: str = ""
    #: The storefront's rate limit: pushes are spaced evenly to stay under it.
    admin_calls_per_second: float = 2.0
    #: The channel whose ``availability.changed`` events are pushed.
    availability_channel: str = "storefront"
    #: Seconds before each retry of a failed push; after the last one the SKU is a dead letter.
    push_retry_schedule: list[float] = Field(default_factory=lambda: [5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 7200.0])
    #: Seconds the consumer waits after a batch that was not full before it takes the next, so the
    #: inventory publisher's trickle (every channel's levels, a few per pass) is applied many events
    #: per transaction; 0: none. It delays a level by at most this much (pushes go at 2 calls/s
    #: anyway); a full batch goes on at once.
    consumer_linger: float = 0.25
    #: How often the pusher looks for work when idle (it is woken at once by a new level or a replay).
    push_poll_seconds: float = 0.5
    #: The idle pusher's look doubles from ``push_poll_seconds`` up to this (retries and Retry-After
    #: waits that fall due are found within it): ``INTERCHANGE_STOREFRONT_PUSH_MAX_IDLE_SECONDS``.
    push_max_idle_seconds: float = 10.0
    #: The shop whose signed order webhooks are taken in (``X-Storefront-Shop-Domain``), and its
    #: webhook signing secret (``INTERCHANGE_STOREFRONT_WEBHOOK_SECRET``; empty: the shop is not
    #: (re)configured at start). Stored sealed (service_kit.secrets), never in clear.
    webhook_shop_domain: str = "demo-shop.storefront.example"
    webhook_secret: SecretStr = SecretStr("")
    #: Whom the shop's orders are taken in for: the partner, the ERP account and its currency.
    webhook_partner_id: str = "storefront"
    webhook_customer_id: str = "C-1001"
    webhook_currency: str = "EUR"
