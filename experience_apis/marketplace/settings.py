"""The marketplace service's own settings (``INTERCHANGE_MARKETPLACE_<NAME>``) beside the kit's."""

from __future__ import annotations

from pydantic import Field

from service_kit.settings import ServiceSettings
from service_kit.webhooks import DEFAULT_RETRY_SCHEDULE


class MarketplaceSettings(ServiceSettings):
    #: The channel whose ``availability.changed`` events feed the partners' availability.
    availability_channel: str = "marketplace"
    #: Seconds before each webhook retry; after the last one a delivery is a dead letter.
    webhook_retry_schedule: list[float] = Field(default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE))
    #: Hosts exempt from the webhook SSRF guard (exact names or IP literals), e.g. an in-house receiver.
    webhook_allow_hosts: list[str] = Field(default_factory=list)
    #: Seconds one webhook attempt may take.
    webhook_timeout: float = 10.0
    #: Seconds intake uses a partner account or listing read from the database before reading it
    #: again: a new partner or listing (or a removed one) shows within this bound.
    partner_cache_seconds: float = Field(default=5.0, ge=0)
