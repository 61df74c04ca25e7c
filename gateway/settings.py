"""The gateway's settings: the kit's, plus tokens and signing keys, where the contracts are read
from, the request caps, the audit queue and its retention, the rate limits and the token
endpoint's limit on failed client authentications.

``GatewaySettings.load("gateway")`` reads ``INTERCHANGE_GATEWAY_<NAME>`` then ``INTERCHANGE_<NAME>``
(``INTERCHANGE_GATEWAY_TOKEN_LIFETIME=600``, ``INTERCHANGE_GATEWAY_CONTRACTS_DIR=...``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from service_kit.settings import ServiceSettings

#: Order submission is stricter than reads; internal clients (the suite's own apps) get ten times more.
DEFAULT_RATE_LIMITS: dict[str, dict[str, str]] = {
    "standard": {"reads": "600/minute", "writes": "120/minute"},
    "internal": {"reads": "6000/minute", "writes": "1200/minute"},
}


class GatewaySettings(ServiceSettings):
    #: Seconds an access token is valid (``expires_in`` and the JWT's ``exp``).
    token_lifetime: int = Field(default=900, ge=60, le=86_400)
    #: Where ``<api>/<vN>.yaml`` are read from; ``None`` means the ones in the ``contracts`` package.
    contracts_dir: Path | None = None

    # Tokens and keys (keys.py, oauth.py).
    #: Seconds a new signing key is published in the JWKS before it signs (``interchange keys
    #: rotate``): at least the JWKS' Cache-Control max-age (300 s), so verifiers have it first.
    signing_key_publish_delay: int = Field(default=600, ge=0)
    #: Tokens come from another issuer (Keycloak, Auth0, Entra): the gateway verifies them against
    #: the shared ``issuer`` and ``jwks_url`` settings (``INTERCHANGE_ISSUER``,
    #: ``INTERCHANGE_JWKS_URL``), issues none and serves no token endpoint, JWKS or metadata.
    external_issuer: bool = False
    #: Seconds between reloads of the signing keys and the disabled clients from the database: a
    #: disabled client's tokens are refused at the gateway within this time.
    state_refresh_interval: float = Field(default=5.0, gt=0)

    # Contract enforcement (policy.py, bodies.py).
    #: The largest request body the gateway accepts (413 beyond it, before the body is read when
    #: Content-Length says so, else as soon as the count passes it).
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    #: How deeply arrays and objects may nest in a JSON request body (400 beyond it).
    max_json_depth: int = Field(default=32, ge=1)

    # Proxying (proxy.py, forward.py).
    #: One access-log line per proxied call, as the services write. Off by default: every proxied
    #: call already has its audit record (``interchange audit``) and failures are logged anyway,
    #: and the line costs the hot path more CPU than the whole policy does.
    proxy_access_log: bool = False

    # Audit (audit.py).
    #: Records waiting to be written; when full the oldest is dropped (and counted).
    audit_queue_size: int = Field(default=10_000, ge=1)
    #: Records written per transaction at most.
    audit_batch_size: int = Field(default=500, ge=1)
    #: Seconds the writer lets a batch fill before writing it (sooner once it is full): how long
    #: a record may wait to be queryable. Also what a crash of the gateway can lose at most.
    audit_linger_seconds: float = Field(default=0.2, ge=0)
    #: Days an audit record is kept; older ones are deleted at start-up and every
    #: ``audit_prune_interval`` seconds (``interchange audit prune`` does it on demand).
    audit_retention_days: int = Field(default=90, ge=1)
    #: Seconds between two prunes of the audit log.
    audit_prune_interval: float = Field(default=3600.0, gt=0)
    #: Records deleted per transaction when pruning, so the SQLite write lock is never held long.
    audit_prune_batch_size: int = Field(default=5000, ge=1)

    # Rate limits (ratelimit.py): requests per client and operation class, by the client's tier.
    #: ``{tier: {class: "<amount>/<period>"}}`` in the ``limits`` notation ("600/minute", "10/second");
    #: every tier has ``reads`` and ``writes``; a contract may name other classes per operation
    #: (``x-interchange-rate-class``). ``INTERCHANGE_GATEWAY_RATE_LIMITS`` takes the table as JSON.
    rate_limits: dict[str, dict[str, str]] = Field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    #: The limits of a token whose tier is not in the table (never unlimited).
    rate_limit_default_tier: str = "standard"
    #: ``memory://`` (this process only) or ``redis://host:port/db``, shared by every replica.
    rate_limit_storage: str = "memory://"
    #: Gateway replicas sharing the Redis counters: while Redis is unreachable each replica admits
    #: its share (the limit divided by this) on its own counters.
    rate_limit_replicas: int = Field(default=1, ge=1)
    #: Seconds a Redis call may take before this request falls back to the local counters.
    rate_limit_storage_timeout: float = Field(default=0.25, gt=0)
    #: Seconds between attempts to reach Redis again once it failed.
    rate_limit_retry_interval: float = Field(default=5.0, ge=0)
    #: Redis connections per replica; a request waits for one at most ``rate_limit_storage_timeout``.
    rate_limit_storage_connections: int = Field(default=64, ge=1)

    # Failed client authentications at the token endpoint (tokenlimit.py), in the ``limits``
    # notation; counted on ``rate_limit_storage`` like the rate limits. Past a limit the token
    # endpoint answers 429 without checking the secret until the window ends.
    #: Failed authentications per claimed client id (known or not) from one remote address.
    auth_failure_limit_per_client_address: str = "10/minute"
    #: Failed authentications per remote address, whatever the client ids.
    auth_failure_limit_per_address: str = "30/minute"
    #: Failed authentications per claimed client id from every address together; past it the id
    #: is refused only from addresses that have failed for it (its own servers keep their tokens).
    auth_failure_limit_per_client: str = "100/minute"
    #: The largest token request the gateway reads (a form of a few hundred bytes): 413 beyond it,
    #: at once when Content-Length says so, else as soon as the count passes it.
    token_max_body_bytes: int = Field(default=8192, ge=256)

    # The remote address (tokenlimit.py, X-Forwarded-For to the services, the audit log).
    #: Addresses or networks (``10.0.0.0/8``) of the reverse proxies in front of the gateway, whose
    #: X-Forwarded-For and X-Forwarded-Proto are believed; none by default: the address is the TCP
    #: peer's and those headers are ignored. ``INTERCHANGE_GATEWAY_TRUSTED_PROXIES='["10.0.0.5"]'``.
    #: Start the gateway's server with its own proxy-header handling off (``uvicorn
    #: --no-proxy-headers``, as ``interchange up`` does): the gateway does it by this list.
    trusted_proxies: list[str] = Field(default_factory=list)

    # A service that cannot be reached (forward.py).
    #: Seconds in the ``Retry-After`` of the 503 a partner gets while a service is unreachable.
    upstream_retry_after: int = Field(default=5, ge=1)
