"""The published contract: OpenAPI 3.1 per API and major version, generated from the code.

``install_openapi`` makes every operation document what the kit really answers: problem+json for
400, 401, 403, 404 (operations with path parameters), 409 (operations taking an Idempotency-Key)
and 422, instead of FastAPI's default validation schema. ``render_spec`` cuts one major version
out of an app's document (paths under ``/vN/``) for ``contracts/openapi/<api>/vN.yaml``.

A published major version on its way out is declared once, in the service's app factory, with
``deprecate_version(app, version="v1", deprecation=Deprecation(...))``: every operation of it is
flagged ``deprecated: true``, its document carries the version's lifecycle at the top level, and
its responses carry the headers below (the gateway reads the same keys from the committed file
and sends the same headers, with ``Deprecation.from_spec`` and ``Deprecation.headers``)::

    x-interchange-deprecated: true
    x-interchange-deprecated-since: '2026-11-23'   Deprecation: @1795392000          (RFC 9745)
    x-interchange-sunset: '2027-06-30'             Sunset: Wed, 30 Jun 2027 00:00:00 GMT (RFC 8594)
    x-interchange-successor: /marketplace/v2       Link: </marketplace/v2/orders/X>; rel="successor-version"

Dates are UTC days; a date stands for 00:00:00 UTC of that day (the sunset is the first instant
the version no longer serves).

Every operation of a partner-facing API carries its own examples, declared in the service's
``examples`` module and added by ``add_examples(app, EXAMPLES)`` in its app factory: a request
body, parameter values and response bodies per status, keyed by ``operationId`` (an id, parameter
or status the app does not have fails the export). The app's ``app.webhooks`` (FastAPI) are
published too, in every version's document (OpenAPI 3.1 ``webhooks``).

A service's own ``/docs`` runs Swagger UI from the files of the ``fastapi-swagger`` package (it
follows Swagger UI's releases), served by the service at ``/docs/<file>``, as the developer portal
does: nothing is fetched from a CDN. In a version's document the OAuth 2.0 scheme declares every
scope its operations need and, given ``token_url``, the gateway's token endpoint as an absolute URL
(a relative ``/oauth2/token`` resolves against the document's server: a process or system API's
server is the service itself, which issues no tokens).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from starlette.datastructures import MutableHeaders
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service_kit.errors import PROBLEM_CONTENT_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "A URI that identifies the kind of problem."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What went wrong and what to change."},
        "instance": {"type": "string"},
        "correlation_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "pointer": {"type": "string", "description": "JSON pointer to the field to fix."},
                    "in": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}

_STANDARD = {
    "400": "The request cannot be read (malformed JSON or header).",
    "401": "No access token, or one that is not accepted.",
    "403": "The access token lacks the scope, or the object is not yours.",
    "404": "No such object.",
    "409": "A request with this Idempotency-Key is still being processed.",
    "422": "The request is well formed but not valid; `errors` names each field to fix.",
}

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def problem_doc(description: str, **extra: Any) -> dict[str, Any]:
    """An operation's problem+json response for ``responses=``, e.g. ``{404: problem_doc("No such
    order.")}``; ``extra`` adds keys such as ``headers``."""
    return {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        **extra,
    }


def document_problems(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    for item in spec.get("webhooks", {}).values():
        for method in _METHODS:
            if method in item:  # the partner's receiver answers a webhook, not the kit: no 422 of ours
                item[method].get("responses", {}).pop("422", None)
    for item in spec.get("paths", {}).values():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            responses = op.setdefault("responses", {})
            params = op.get("parameters", [])
            wanted = ["400", "422"]
            if op.get("security"):
                wanted += ["401", "403"]
            if any(p.get("in") == "path" for p in params):
                wanted.append("404")
            if any(p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key" for p in params):
                wanted.append("409")
            for code in wanted:
                existing = responses.get(code)
                if code == "422" or existing is None or "content" not in existing:
                    own = existing.get("description") if existing else None
                    described = own if own and own != "Validation Error" else None
                    responses[code] = problem_doc(described or _STANDARD[code])
    return spec


@dataclass(frozen=True)
class Deprecation:
    """The lifecycle of a deprecated major version: deprecated ``since``, served until ``sunset``,
    replaced by ``successor`` (the successor version's base path at the gateway)."""

    since: date
    sunset: date
    successor: str

    def spec_keys(self) -> dict[str, Any]:
        return {
            "x-interchange-deprecated": True,
            "x-interchange-deprecated-since": self.since.isoformat(),
            "x-interchange-sunset": self.sunset.isoformat(),
            "x-interchange-successor": self.successor,
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Deprecation | None:
        """The lifecycle a published document declares, or None when it is not deprecated."""
        if spec.get("x-interchange-deprecated") is not True:
            return None
        return cls(
            since=_day(spec["x-interchange-deprecated-since"]),
            sunset=_day(spec["x-interchange-sunset"]),
            successor=str(spec["x-interchange-successor"]),
        )

    def headers(self, *, rest: str) -> dict[str, str]:
        """The response headers for a call to ``<version base><rest>``, e.g. rest ``/orders/X``."""
        successor = f"{self.successor.rstrip('/')}{quote(rest, safe='/')}"
        return {
            "Deprecation": f"@{int(_midnight(self.since).timestamp())}",
            "Sunset": format_datetime(_midnight(self.sunset), usegmt=True),
            "Link": f'<{successor}>; rel="successor-version"',
        }


def _day(value: Any) -> date:
    # A date written by hand may come back from YAML as a date rather than a string.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def deprecations(app: FastAPI) -> dict[str, Deprecation]:
    """The app's deprecated major versions, by version (``v1``)."""
    return dict(getattr(app.state, "deprecations", {}))


def deprecate_version(app: FastAPI, *, version: str, deprecation: Deprecation) -> None:
    """Declare a published major version deprecated (see the module docstring). Call it in the
    app factory, before the app serves."""
    app.state.deprecations = {**deprecations(app), version: deprecation}
    app.openapi_schema = None
    app.add_middleware(_DeprecationHeaders, prefix=f"/{version}/", deprecation=deprecation)


class _DeprecationHeaders:
    """Adds the deprecation headers to every response under the version's prefix, errors included."""

    def __init__(self, app: ASGIApp, *, prefix: str, deprecation: Deprecation) -> None:
        self.app, self.prefix, self.deprecation = app, prefix, deprecation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        headers = self.deprecation.headers(rest=path[len(self.prefix) - 1 :])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in headers.items():
                    response_headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _flag_deprecated(paths: dict[str, Any], prefix: str) -> None:
    for route, item in paths.items():
        if route.startswith(prefix):
            for method in _METHODS:
                if method in item:
                    item[method]["deprecated"] = True


@dataclass(frozen=True)
class OperationExamples:
    """One operation's own examples (OpenAPI ``examples``, under the name ``name``): the JSON request
    body, parameter values by name (path, query or header), and response bodies by status."""

    summary: str
    request: Any = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    responses: Mapping[int, Any] = field(default_factory=dict)
    name: str = "example"


def add_examples(app: FastAPI, examples: Mapping[str, OperationExamples]) -> None:
    """Give operations their own examples, by ``operationId`` (see the module docstring). Call it
    in the app factory."""
    app.state.openapi_examples = {**getattr(app.state, "openapi_examples", {}), **examples}
    app.openapi_schema = None


def _named(example: OperationExamples, value: Any) -> dict[str, Any]:
    return {example.name: {"summary": example.summary, "value": value}}


def _apply_examples(spec: dict[str, Any], examples: Mapping[str, OperationExamples]) -> None:
    ops = {
        op["operationId"]: op
        for item in [*spec.get("paths", {}).values(), *spec.get("webhooks", {}).values()]
        for method in _METHODS
        if isinstance(op := item.get(method), dict) and "operationId" in op
    }
    for operation_id, example in examples.items():
        op = ops.get(operation_id)
        if op is None:
            raise ValueError(f"examples: no operation {operation_id!r}")
        if example.request is not None:
            media = op.get("requestBody", {}).get("content", {}).get("application/json")
            if media is None:
                raise ValueError(f"examples: {operation_id} takes no JSON body")
            media["examples"] = _named(example, example.request)
        params = {p["name"].lower(): p for p in op.get("parameters", [])}
        for name, value in example.parameters.items():
            if name.lower() not in params:
                raise ValueError(f"examples: {operation_id} has no parameter {name!r}")
            params[name.lower()]["examples"] = _named(example, value)
        for status, body in example.responses.items():
            content = op.get("responses", {}).get(str(status), {}).get("content")
            if not content:
                raise ValueError(f"examples: {operation_id} has no response {status} with a body")
            if int(status) < 400:
                next(iter(content.values()))["examples"] = _named(example, body)
            else:  # a problem: named and summed up by its own detail
                named = {"summary": body.get("detail", body.get("title")), "value": body}
                next(iter(content.values()))["examples"] = {
                    body.get("title", "problem").lower().replace(" ", "-"): named
                }


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            base = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                webhooks=app.webhooks.routes,
            )
            spec = document_problems(base)
            for version in deprecations(app):
                _flag_deprecated(spec.get("paths", {}), f"/{version}/")
            _apply_examples(spec, getattr(app.state, "openapi_examples", {}))
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    _install_docs(app)


#: Swagger UI's files, served under the app's docs URL, with their media types.
SWAGGER_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


def _install_docs(app: FastAPI) -> None:
    """Replace FastAPI's ``/docs`` (Swagger UI from a CDN) by the same page on local files."""
    docs = app.docs_url
    if docs is None:
        return
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) != docs]
    folder = Path(str(files("fastapi_swagger") / "resources"))

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        redirect = app.swagger_ui_oauth2_redirect_url
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{docs}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{docs}/swagger-ui.css",
            swagger_favicon_url=f"{root}{docs}/favicon-32x32.png",
            oauth2_redirect_url=f"{root}{redirect}" if redirect else None,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})},
        )

    def asset(name: str, media_type: str) -> Any:
        async def serve(_: Request) -> Response:
            return FileResponse(folder / name, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})

        return serve

    app.add_route(docs, swagger_ui, include_in_schema=False)
    for name, media_type in SWAGGER_ASSETS.items():
        app.add_route(f"{docs}/{name}", asset(name, media_type), include_in_schema=False)


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/components/schemas/"):
                found.add(v.rsplit("/", 1)[1])
            else:
                found |= _refs(v)
    elif isinstance(node, list):
        for v in node:
            found |= _refs(v)
    return found


def _declare_scopes(security: dict[str, Any], paths: dict[str, Any], *, token_url: str | None) -> dict[str, Any]:
    """The OAuth 2.0 schemes with every scope the paths' operations need declared (each says which
    operations need it), and ``token_url`` when given (module docstring)."""
    security = copy.deepcopy(security)
    for name, scheme in security.items():
        flow = scheme.get("flows", {}).get("clientCredentials") if scheme.get("type") == "oauth2" else None
        if flow is None:
            continue
        needed_by: dict[str, list[str]] = {}
        for item in paths.values():
            for method in _METHODS:
                op = item.get(method)
                for requirement in op.get("security", []) if isinstance(op, dict) else []:
                    for scope in requirement.get(name, []):
                        needed_by.setdefault(scope, []).append(op.get("operationId", method.upper()))
        flow["scopes"] = {scope: "Needed by " + ", ".join(ops) for scope, ops in sorted(needed_by.items())}
        if token_url is not None:
            flow["tokenUrl"] = token_url
            scheme["description"] = f"OAuth 2.0 client credentials: POST {token_url} (the gateway)."
    return security


def version_spec(
    app: FastAPI, *, api: str, version: str, service: str, tier: str, server: str, token_url: str | None = None
) -> dict[str, Any]:
    """The document of one major version: its paths, the schemas they reach, the scopes they need,
    and the metadata the gateway routes by (``x-interchange-*``), with the version's lifecycle when
    it is deprecated."""
    full = json.loads(json.dumps(app.openapi()))
    prefix = f"/{version}/"
    paths = {p: item for p, item in full.get("paths", {}).items() if p.startswith(prefix)}
    webhooks = full.get("webhooks", {})
    schemas = full.get("components", {}).get("schemas", {})
    keep: set[str] = set()
    todo = _refs(paths) | _refs(webhooks)
    while todo:
        name = todo.pop()
        if name in keep or name not in schemas:
            continue
        keep.add(name)
        todo |= _refs(schemas[name]) - keep
    components: dict[str, Any] = {}
    if keep:
        components["schemas"] = {k: v for k, v in schemas.items() if k in keep}
    security = full.get("components", {}).get("securitySchemes")
    if security:
        components["securitySchemes"] = _declare_scopes(security, paths, token_url=token_url)
    info = dict(full["info"])
    info["version"] = f"{version.lstrip('v')}.0.0"
    spec: dict[str, Any] = {
        "openapi": full["openapi"],
        "info": info,
        "servers": [{"url": server}],
        "x-interchange-api": api,
        "x-interchange-service": service,
        "x-interchange-tier": tier,
    }
    deprecation = deprecations(app).get(version)
    if deprecation is not None:
        spec.update(deprecation.spec_keys())
        _flag_deprecated(paths, prefix)
    spec["paths"] = paths
    if webhooks:
        spec["webhooks"] = webhooks
    if components:
        spec["components"] = components
    return spec


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_yaml(spec: dict[str, Any]) -> str:
    return yaml.dump(spec, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=100)


__all__ = [
    "SWAGGER_ASSETS",
    "Deprecation",
    "OperationExamples",
    "add_examples",
    "deprecate_version",
    "deprecations",
    "document_problems",
    "install_openapi",
    "problem_doc",
    "render_yaml",
    "version_spec",
]
