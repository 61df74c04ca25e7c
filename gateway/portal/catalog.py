"""What the portal publishes: every partner-facing API version, rewritten for partners.

Read from the committed contracts (the files the gateway routes by). An API version is
partner-facing when its tier is ``experience`` and a partner can call one of its operations (it is
open, or partner scopes, ``contracts.scopes.PARTNER``, open it), the gateway's own rule for routing
an API to partners: the storefront's admin API and the ops console are experience APIs for
internal clients, and process and system APIs are never shown.

Each document is rewritten for a partner who reaches it through the gateway:

- ``servers``: the gateway's public base + ``/<api>/<vN>``, and the paths without their ``/<vN>``;
- the OAuth 2.0 client-credentials flow's ``tokenUrl``: the gateway's token endpoint, with every
  scope the operations use declared (a description says which operations need it);
- each operation's description ends with the scopes it needs; an operation no partner can call is
  left out, and so are the schemas only such operations use;
- the routing keys (``x-interchange-service``, ``x-interchange-tier``) are removed: which service
  answers is the gateway's business.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from gateway import routing

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
PARTNER_TIER = "experience"
#: Keys of a contract that only the gateway needs.
INTERNAL_KEYS = ("x-interchange-service", "x-interchange-tier")
_VERSION = re.compile(r"^v[0-9]+$")
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class ApiVersion:
    """One published version of a partner-facing API, as the portal shows it."""

    api: str
    version: str
    title: str
    description: str
    #: The document rewritten for partners (module docstring); the changelog compares these.
    spec: Mapping[str, Any]
    deprecated: bool = False
    deprecated_since: date | None = None
    sunset: date | None = None
    successor: str | None = None

    @property
    def slug(self) -> str:
        """The page's name under ``/developers/``, e.g. ``marketplace-v2``."""
        return f"{self.api}-{self.version}"

    @property
    def number(self) -> int:
        return int(self.version[1:])

    def operations(self) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        """(METHOD, path under the version, operation) of the rewritten document."""
        for path, item in self.spec.get("paths", {}).items():
            for method in METHODS:
                if isinstance(item.get(method), dict):
                    yield method.upper(), path, item[method]


@dataclass(frozen=True)
class Catalog:
    versions: tuple[ApiVersion, ...] = field(default_factory=tuple)

    def find(self, slug: str) -> ApiVersion | None:
        return next((v for v in self.versions if v.slug == slug), None)

    def apis(self) -> dict[str, list[ApiVersion]]:
        """Every API's versions, newest first, by API name."""
        found: dict[str, list[ApiVersion]] = {}
        for version in sorted(self.versions, key=lambda v: (v.api, -v.number)):
            found.setdefault(version.api, []).append(version)
        return found

    def current(self, api: str) -> ApiVersion | None:
        """The newest version of ``api`` that is not deprecated (else the newest)."""
        versions = self.apis().get(api, [])
        return next((v for v in versions if not v.deprecated), versions[0] if versions else None)


def operation_scopes(op: Mapping[str, Any], *, spec: Mapping[str, Any]) -> list[str]:
    """The scopes an operation needs (its own ``security`` or the document's), as the gateway reads them."""
    return sorted({name for required in routing.required_scopes(op, spec=spec) for name in required})


def partner_may_call(op: Mapping[str, Any], *, spec: Mapping[str, Any]) -> bool:
    """Whether a partner can call an operation: the gateway routes it, by the gateway's rule."""
    return routing.routed(op) and routing.partner_may_call(routing.required_scopes(op, spec=spec))


def is_partner_facing(spec: Mapping[str, Any]) -> bool:
    """An experience API with an operation a partner can call (the gateway routes it for partners)."""
    return spec.get("x-interchange-tier") == PARTNER_TIER and any(
        partner_may_call(item[m], spec=spec)
        for item in spec.get("paths", {}).values()
        for m in METHODS
        if isinstance(item.get(m), dict)
    )


def load_catalog(contracts_dir: Path, *, gateway_url: str, token_url: str) -> Catalog:
    """Every partner-facing ``<api>/<vN>.yaml`` under ``contracts_dir``, rewritten for partners."""
    found = []
    files = sorted(contracts_dir.glob("*/v*.yaml")) if contracts_dir.is_dir() else []
    for file in files:
        if not _VERSION.match(file.stem):
            continue
        contract = yaml.load(file.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (a safe loader)
        if not isinstance(contract, dict) or not is_partner_facing(contract):
            continue
        api, version = file.parent.name, file.stem
        spec = portal_spec(contract, api=api, version=version, gateway_url=gateway_url, token_url=token_url)
        info = contract.get("info", {})
        found.append(
            ApiVersion(
                api=api,
                version=version,
                title=str(info.get("title", api)),
                description=str(info.get("description", "")),
                spec=spec,
                deprecated=contract.get("x-interchange-deprecated") is True,
                deprecated_since=_day(contract.get("x-interchange-deprecated-since")),
                sunset=_day(contract.get("x-interchange-sunset")),
                successor=contract.get("x-interchange-successor"),
            )
        )
    return Catalog(tuple(found))


def portal_spec(
    contract: Mapping[str, Any], *, api: str, version: str, gateway_url: str, token_url: str
) -> dict[str, Any]:
    """The contract rewritten for partners (module docstring)."""
    spec = copy.deepcopy(dict(contract))
    for key in INTERNAL_KEYS:
        spec.pop(key, None)
    spec["servers"] = [{"url": f"{gateway_url.rstrip('/')}/{api}/{version}", "description": "The gateway"}]
    prefix = f"/{version}"
    paths = {}
    for path, item in spec.get("paths", {}).items():
        kept = {k: v for k, v in item.items() if k not in METHODS or partner_may_call(v, spec=spec)}
        if any(m in kept for m in METHODS):  # an operation no partner can call is not shown
            paths[path[len(prefix) :] if path.startswith(prefix + "/") else path] = kept
    spec["paths"] = paths
    _drop_unused_schemas(spec)
    needed_by: dict[str, list[str]] = {}
    for path, item in spec["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            names = operation_scopes(op, spec=spec)
            for name in names:
                needed_by.setdefault(name, []).append(op.get("operationId") or f"{method.upper()} {path}")
            if names:
                listed = ", ".join(f"`{n}`" for n in names)
                op["description"] = f"{op.get('description', '').rstrip()}\n\n**Scopes:** {listed}".lstrip()
    for scheme in spec.get("components", {}).get("securitySchemes", {}).values():
        flow = scheme.get("flows", {}).get("clientCredentials") if scheme.get("type") == "oauth2" else None
        if flow is None:
            continue
        flow["tokenUrl"] = token_url
        flow["scopes"] = {name: "Needed by " + ", ".join(ops) for name, ops in sorted(needed_by.items())}
        scheme["description"] = (
            f"OAuth 2.0 client credentials: POST {token_url} with your client id and secret (HTTP Basic)."
        )
    if spec.get("x-interchange-deprecated") is True:
        spec.setdefault("info", {})["description"] = (
            f"{_deprecation_notice(spec)}\n\n{spec.get('info', {}).get('description', '')}".rstrip()
        )
    return spec


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        found = {ref.rsplit("/", 1)[1]} if isinstance(ref, str) and ref.startswith("#/components/schemas/") else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _drop_unused_schemas(spec: dict[str, Any]) -> None:
    """Keep the schemas the shown operations and webhooks reach (those of hidden ones go too)."""
    schemas = spec.get("components", {}).get("schemas")
    if not schemas:
        return
    keep: set[str] = set()
    todo = _refs(spec["paths"]) | _refs(spec.get("webhooks", {}))
    while todo:
        name = todo.pop()
        if name not in keep and name in schemas:
            keep.add(name)
            todo |= _refs(schemas[name]) - keep
    spec["components"]["schemas"] = {k: v for k, v in schemas.items() if k in keep}


def _deprecation_notice(spec: Mapping[str, Any]) -> str:
    sunset = spec.get("x-interchange-sunset")
    successor = spec.get("x-interchange-successor")
    text = "**Deprecated.**"
    if sunset:
        text += f" Served until {sunset}; from then on every call answers 410 Gone."
    if successor:
        text += f" Move to {successor}."
    return text


def _day(value: Any) -> date | None:
    if value is None:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


__all__ = [
    "ApiVersion",
    "Catalog",
    "is_partner_facing",
    "load_catalog",
    "operation_scopes",
    "partner_may_call",
    "portal_spec",
]
