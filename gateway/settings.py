"""The gateway's settings: the kit's, plus token lifetime and where the contracts are read from.

``GatewaySettings.load("gateway")`` reads ``INTERCHANGE_GATEWAY_<NAME>`` then ``INTERCHANGE_<NAME>``
(``INTERCHANGE_GATEWAY_TOKEN_LIFETIME=600``, ``INTERCHANGE_GATEWAY_CONTRACTS_DIR=...``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from service_kit.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    #: Seconds an access token is valid (``expires_in`` and the JWT's ``exp``).
    token_lifetime: int = Field(default=900, ge=60, le=86_400)
    #: Where ``<api>/<vN>.yaml`` are read from; ``None`` means the ones in the ``contracts`` package.
    contracts_dir: Path | None = None
