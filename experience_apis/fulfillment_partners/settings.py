"""The fulfilment partners service's own settings (``INTERCHANGE_FULFILLMENT_PARTNERS_<NAME>``) beside the kit's."""

from __future__ import annotations

from pydantic import Field

from service_kit.settings import ServiceSettings
from service_kit.webhooks import DEFAULT_RETRY_SCHEDULE


class FulfillmentPartnersSettings(ServiceSettings):
    #: Seconds before each webhook retry; after the last one a delivery is a dead letter.
    webhook_retry_schedule: list[float] = Field(default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE))
    #: Hosts exempt from the webhook SSRF guard (exact names or IP literals), e.g. a partner's receiver
    #: on a private network reached over a VPN.
    webhook_allow_hosts: list[str] = Field(default_factory=list)
    #: Seconds one webhook attempt may take.
    webhook_timeout: float = 10.0
