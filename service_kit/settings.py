"""Settings for one service, read from ``INTERCHANGE_*`` environment variables.

A value is looked up first as ``INTERCHANGE_<SERVICE>_<NAME>`` (this service only), then as
``INTERCHANGE_<NAME>`` (shared by every service). Settings are built once by the app factory
and passed down; nothing reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The default port of every service, as in the architecture page.
DEFAULT_PORTS: dict[str, int] = {
    "gateway": 8000,
    "marketplace": 8101,
    "storefront": 8102,
    "b2b": 8103,
    "fulfillment_partners": 8104,
    "ops": 8105,
    "orders": 8201,
    "inventory": 8202,
    "fulfillment": 8203,
    "erp": 8301,
    "wms": 8302,
    "crm": 8303,
}


def default_url(service: str) -> str:
    return f"http://127.0.0.1:{DEFAULT_PORTS[service]}"


class ServiceSettings(BaseSettings):
    """What every service needs; a service subclasses it to add its own fields."""

    model_config = SettingsConfigDict(env_prefix="INTERCHANGE_", extra="ignore", frozen=True)

    service: str = "service"
    host: str = "127.0.0.1"
    port: int = 0
    data_dir: Path = Path("var")
    database_url: str = ""
    log_level: str = "info"
    log_json: bool = True
    #: One log line per request served (method, path, status, duration). Off by default: it cost
    #: about a tenth of a status read's CPU, and the metrics count every request anyway; failures
    #: and unhandled errors are logged either way.
    access_log: bool = False
    seed_demo: bool = False

    # Trust: every service verifies the gateway's JWTs and gets its own tokens from it.
    gateway_url: str = Field(default_factory=lambda: default_url("gateway"))
    issuer: str = Field(default_factory=lambda: default_url("gateway"))
    audience: str = "interchange"
    jwks_url: str = ""
    client_id: str = ""
    client_secret: str = ""

    # Secrets at rest (service_kit.secrets): Fernet keys, comma-separated, newest first; when
    # empty, the key file (default ``<data_dir>/secrets.key``, created owner-only on first use).
    secrets_keys: SecretStr = SecretStr("")
    secrets_key_file: Path | None = None

    # The tier below, by service name.
    erp_url: str = Field(default_factory=lambda: default_url("erp"))
    wms_url: str = Field(default_factory=lambda: default_url("wms"))
    crm_url: str = Field(default_factory=lambda: default_url("crm"))
    orders_url: str = Field(default_factory=lambda: default_url("orders"))
    inventory_url: str = Field(default_factory=lambda: default_url("inventory"))
    fulfillment_url: str = Field(default_factory=lambda: default_url("fulfillment"))
    marketplace_url: str = Field(default_factory=lambda: default_url("marketplace"))
    storefront_url: str = Field(default_factory=lambda: default_url("storefront"))
    b2b_url: str = Field(default_factory=lambda: default_url("b2b"))
    fulfillment_partners_url: str = Field(default_factory=lambda: default_url("fulfillment_partners"))
    ops_url: str = Field(default_factory=lambda: default_url("ops"))
    events_url: str = ""  # sqlite:///<data_dir>/events.db by default; redis://... when scaled

    # How long shutdown waits for a worker to finish its unit of work (service_kit.workers) before
    # cancelling it anyway.
    shutdown_grace_seconds: float = Field(default=5.0, ge=0)

    # Connections the service's database pool keeps open (service_kit.db.Database says why).
    db_pool_size: int = Field(default=20, ge=1)

    # Outbound HTTP.
    http_connect_timeout: float = 2.0
    http_read_timeout: float = 10.0
    http_max_connections: int = 100

    @classmethod
    def load(cls, service: str, /, **overrides: Any) -> Self:
        """Shared ``INTERCHANGE_<NAME>`` values, overridden by ``INTERCHANGE_<SERVICE>_<NAME>``,
        overridden by explicit keyword arguments (tests pass these)."""
        own = cls(_env_prefix=f"INTERCHANGE_{service.upper()}_")
        values = own.model_dump(include=own.model_fields_set) | overrides
        return cls(service=service, **values)

    def model_post_init(self, context: Any, /) -> None:
        # Derived defaults; frozen, so set through object.__setattr__ once.
        if not self.port:
            object.__setattr__(self, "port", DEFAULT_PORTS.get(self.service, 0))
        if not self.database_url:
            url = f"sqlite+aiosqlite:///{self.data_dir / (self.service + '.db')}"
            object.__setattr__(self, "database_url", url)
        if not self.events_url:
            object.__setattr__(self, "events_url", f"sqlite:///{self.data_dir / 'events.db'}")
        if not self.jwks_url:
            object.__setattr__(self, "jwks_url", f"{self.gateway_url}/.well-known/jwks.json")

    @property
    def token_url(self) -> str:
        return f"{self.gateway_url}/oauth2/token"
