"""The reference shop's settings: ``INTERCHANGE_SHOP_<NAME>`` (the data dir: ``INTERCHANGE_DATA_DIR``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ShopSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTERCHANGE_SHOP_", extra="ignore", populate_by_name=True)

    #: Where its SQLite file lives (the suite's data dir).
    data_dir: Path = Field(default=Path("var"), validation_alias="INTERCHANGE_DATA_DIR")
    #: The shop's domain, sent as ``X-Storefront-Shop-Domain`` with every webhook.
    shop_domain: str = "demo-shop.storefront.example"
    #: The admin API's access token (``X-Storefront-Access-Token``); empty: not checked.
    access_token: SecretStr = SecretStr("")
    #: Where order webhooks are delivered: the storefront service's ``POST /v1/webhooks/orders``.
    webhook_url: str = "http://127.0.0.1:8102/v1/webhooks/orders"
    #: The webhook signing secret (``X-Storefront-Hmac-Sha256``); empty: webhooks go unsigned.
    webhook_secret: SecretStr = SecretStr("")
    #: The shop's currency: orders placed without one are in it.
    currency: str = "EUR"
    #: Attempts per webhook (the first and its retries), and the backoff: exponential from
    #: ``delivery_backoff_seconds``, at most ``delivery_backoff_max_seconds`` between two attempts.
    delivery_attempts: int = Field(default=5, ge=1)
    delivery_backoff_seconds: float = Field(default=1.0, ge=0)
    delivery_backoff_max_seconds: float = Field(default=30.0, ge=0)
    delivery_timeout_seconds: float = Field(default=10.0, gt=0)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "storefront_shop.db"
