"""The routing table, built once at start-up from the committed contracts.

Every ``<contracts_dir>/<api>/<vN>.yaml`` names the service that owns the API
(``x-interchange-service``) and its tier (``x-interchange-tier``). Experience and process APIs are
routed: ``/<api>/<vN>/<rest>`` goes to ``<service>_url`` + ``/<vN>/<rest>``; process APIs only for
internal clients (``internal_only``: anyone else gets the 404 of an API that does not exist).
System APIs are never routed from outside.

Each API's path templates are compiled into matchers here, so the proxy answers 404 for a path and
405 for a method the contract does not publish without touching the service, and knows which
operation a request is, with what it needs per request already worked out: its scopes, its body
policy (media types and compiled JSON schema, bodies.py) and the version's lifecycle (versions.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeGuard

import httpx
import structlog
import yaml

import contracts
from contracts.scopes import PARTNER
from gateway.bodies import BodyPolicy, ContractBodyError, compile_body
from gateway.versions import Lifecycle, LifecycleError, VersionHeaders
from service_kit.settings import ServiceSettings

ROUTED_TIERS = frozenset({"experience", "process"})
#: Tiers routed for internal clients only.
INTERNAL_TIERS = frozenset({"process"})
TIERS = frozenset({"experience", "process", "system"})
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

_VERSION = re.compile(r"^v[0-9]+$")
_PARAM = re.compile(r"\{([^{}/]+)\}")
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

log = structlog.get_logger("gateway.routing")


class ContractError(Exception):
    """A contract the gateway cannot route by; the gateway does not start with it."""


def default_contracts_dir() -> Path:
    # __path__, not __file__: the package may be imported as a namespace package (a stale
    # editable install does that outside the repository), and then __file__ is None.
    return Path(next(iter(contracts.__path__))) / "openapi"


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation a contract publishes."""

    method: str  # upper case
    #: The public path template, e.g. ``/marketplace/v1/orders/{marketplace_order_id}`` (also the
    #: request's metrics label).
    path: str
    operation_id: str | None
    #: The contract's security requirements: any one set of scopes suffices.
    scopes: tuple[frozenset[str], ...]
    #: What it takes as a request body; ``None``: none.
    body: BodyPolicy | None = None


Operations = Mapping[str, Operation]  # by method


@dataclass(frozen=True, slots=True)
class ApiRoute:
    api: str
    version: str
    service: str
    tier: str
    #: The owning service's base URL (``<service>_url``) and its path, which requests go under.
    upstream: httpx.URL
    upstream_prefix: bytes
    static: Mapping[str, Operations]
    templated: tuple[tuple[re.Pattern[str], Operations], ...]
    #: Process APIs, and experience APIs no partner scope opens: only for internal clients; to
    #: anyone else the API does not exist.
    internal_only: bool = False
    #: What the contract says about the version's end (``x-interchange-deprecated``...).
    lifecycle: Lifecycle | None = None
    #: ``lifecycle`` ready for the hot path, once its dates are known (``RoutingTable.with_versions``).
    versioning: VersionHeaders | None = None

    def find(self, path: str) -> Operations | None:
        """The operations at ``path`` (the service's own path, ``/v1/...``), by method."""
        ops = self.static.get(path)
        if ops is not None:
            return ops
        if "/." in path and any(seg in {".", ".."} for seg in path.split("/")):
            return None  # never let a dot segment re-route the request at the service
        for pattern, ops in self.templated:
            if pattern.fullmatch(path):
                return ops
        return None


class RoutingTable:
    def __init__(self, apis: Mapping[tuple[str, str], ApiRoute]) -> None:
        self._apis = dict(apis)

    def get(self, api: str, version: str) -> ApiRoute | None:
        return self._apis.get((api, version))

    def __iter__(self) -> Iterator[ApiRoute]:
        return iter(self._apis.values())

    def __len__(self) -> int:
        return len(self._apis)

    def with_versions(self, versioning: Mapping[tuple[str, str], VersionHeaders]) -> RoutingTable:
        """The same table with each version's lifecycle headers, by ``(api, version)``."""
        return RoutingTable(
            {key: replace(route, versioning=versioning.get(key, route.versioning)) for key, route in self._apis.items()}
        )


def load_routing_table(contracts_dir: Path, settings: ServiceSettings) -> RoutingTable:
    """Read every contract under ``contracts_dir`` (missing or empty: an empty table)."""
    apis: dict[tuple[str, str], ApiRoute] = {}
    files = sorted(contracts_dir.glob("*/v*.yaml")) if contracts_dir.is_dir() else []
    for file in files:
        route = _api_route(file, settings)
        if route is not None:
            apis[(route.api, route.version)] = route
    log.info(
        "routes_loaded",
        contracts_dir=str(contracts_dir),
        routes={f"/{r.api}/{r.version}": f"{r.service} {r.upstream}" for r in apis.values()},
    )
    return RoutingTable(apis)


def _api_route(file: Path, settings: ServiceSettings) -> ApiRoute | None:
    api, version = file.parent.name, file.stem
    if not _VERSION.match(version):
        raise ContractError(f"{file}: the file name must be the major version, e.g. v1.yaml")
    spec = yaml.load(file.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (a safe loader)
    if not isinstance(spec, dict):
        raise ContractError(f"{file}: not an OpenAPI document")
    declared = spec.get("x-interchange-api")
    if declared != api:
        raise ContractError(f"{file}: x-interchange-api is {declared!r}, the directory says {api!r}")
    tier = spec.get("x-interchange-tier")
    if tier not in TIERS:
        raise ContractError(f"{file}: x-interchange-tier must be one of {sorted(TIERS)}, not {tier!r}")
    if tier not in ROUTED_TIERS:
        return None
    service = spec.get("x-interchange-service")
    base_url = getattr(settings, f"{service}_url", None) if isinstance(service, str) and service else None
    if not isinstance(service, str) or not base_url:
        raise ContractError(f"{file}: no upstream for x-interchange-service {service!r} (setting {service}_url)")
    try:
        lifecycle = Lifecycle.from_spec(spec)
    except LifecycleError as exc:
        raise ContractError(f"{file}: {exc}") from exc
    static: dict[str, Operations] = {}
    templated: list[tuple[int, str, re.Pattern[str], Operations]] = []
    for path, item in (spec.get("paths") or {}).items():
        if not str(path).startswith(f"/{version}/"):
            raise ContractError(f"{file}: path {path!r} is not under /{version}/")
        try:
            ops = _operations(api, str(path), item or {}, spec)
        except ContractBodyError as exc:
            raise ContractError(f"{file}: {path}: {exc}") from exc
        if not ops:
            continue
        if _PARAM.search(path):
            templated.append((path.count("{"), path, _matcher(path), ops))
        else:
            static[path] = ops
    # Fewer parameters first, so /v1/orders/export wins over /v1/orders/{id} (OpenAPI's rule).
    templated.sort(key=lambda t: (t[0], t[1]))
    upstream = httpx.URL(str(base_url))
    return ApiRoute(
        api=api,
        version=version,
        service=service,
        tier=tier,
        upstream=upstream,
        upstream_prefix=upstream.raw_path.split(b"?", 1)[0].rstrip(b"/"),
        static=static,
        templated=tuple((pattern, ops) for _, _, pattern, ops in templated),
        internal_only=tier in INTERNAL_TIERS or not _partner_facing([*static.values(), *(t[3] for t in templated)]),
        lifecycle=lifecycle,
    )


def _partner_facing(operations: list[Operations]) -> bool:
    """Whether a partner may call any operation: an experience API for internal clients only (the
    storefront's admin API, the ops console's) is hidden from everyone else like a process API, as
    the developer portal hides it."""
    return any(partner_may_call(op.scopes) for ops in operations for op in ops.values())


def partner_may_call(scopes: tuple[frozenset[str], ...]) -> bool:
    """Whether a partner may call an operation needing ``scopes`` (its security requirements, any
    one suffices): it is open, or one requirement asks only for partner scopes. The developer
    portal publishes by the same rule."""
    return not scopes or any(required <= PARTNER for required in scopes)


SERVICE_ONLY = "x-interchange-service-only"


def routed(op: object) -> TypeGuard[dict[str, Any]]:
    """Whether a contract's path-item entry is an operation the gateway routes:
    ``x-interchange-service-only`` ones are received on the owning service's own port (a signed
    webhook, no bearer token): published for their callers, never routed here (a 404/405 like an
    unpublished one)."""
    return isinstance(op, dict) and op.get(SERVICE_ONLY) is not True


def required_scopes(op: Mapping[str, Any], *, spec: Mapping[str, Any]) -> tuple[frozenset[str], ...]:
    """An operation's security requirements (its own ``security``, else the document's), each the
    set of scopes it asks for; any one suffices."""
    requirements = op.get("security", spec.get("security", []))
    return tuple(frozenset(s for names in req.values() for s in names) for req in requirements)


def _operations(api: str, path: str, item: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Operation]:
    ops = {}
    for method in HTTP_METHODS:
        op = item.get(method)
        if not routed(op):
            continue
        ops[method.upper()] = Operation(
            method=method.upper(),
            path=f"/{api}{path}",
            operation_id=op.get("operationId"),
            scopes=required_scopes(op, spec=spec),
            body=compile_body(op, spec),
        )
    return ops


def _matcher(template: str) -> re.Pattern[str]:
    parts = _PARAM.split(template)  # literal, name, literal, name, ..., literal
    return re.compile("".join(re.escape(p) if i % 2 == 0 else "[^/]+" for i, p in enumerate(parts)))


__all__ = [
    "ApiRoute",
    "ContractError",
    "Operation",
    "RoutingTable",
    "default_contracts_dir",
    "load_routing_table",
    "partner_may_call",
    "required_scopes",
    "routed",
]
