"""The ops console's settings (``INTERCHANGE_OPS_<NAME>``) beside the kit's."""

from __future__ import annotations

from pydantic import Field, SecretStr

from service_kit.settings import ServiceSettings


class OpsSettings(ServiceSettings):
    #: Signs the session cookie (``INTERCHANGE_OPS_SESSION_SECRET``). Empty: a random key per start,
    #: so a restart signs everyone out; set one shared value when the console runs as replicas.
    session_secret: SecretStr = SecretStr("")
    #: Seconds a sign-in lasts at most; the operator's token expiring (the gateway's token lifetime)
    #: ends it sooner.
    session_max_age: int = Field(default=8 * 3600, ge=60)
    #: Send the session cookie over HTTPS only (``INTERCHANGE_OPS_SESSION_HTTPS_ONLY``): on behind TLS.
    session_https_only: bool = False
    #: The services whose /metrics the health page reads (their ``<name>_url`` settings).
    health_services: list[str] = Field(
        default_factory=lambda: ["gateway", "marketplace", "storefront", "orders", "inventory", "erp", "wms", "crm"]
    )
    #: Orders per search and per page of the exception queue.
    page_size: int = Field(default=50, ge=1, le=200)
