"""The published contract: OpenAPI 3.1 per API and major version, generated from the code.

``install_openapi`` makes every operation document what the kit really answers: problem+json for
400, 401, 403, 404 (operations with path parameters), 409 (operations taking an Idempotency-Key)
and 422, instead of FastAPI's default validation schema. ``render_spec`` cuts one major version
out of an app's document (paths under ``/vN/``) for ``contracts/openapi/<api>/vN.yaml``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

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


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def document_problems(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
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
                    responses[code] = _problem_response(described or _STANDARD[code])
    return spec


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            base = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = document_problems(base)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


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


def version_spec(app: FastAPI, *, api: str, version: str, service: str, tier: str, server: str) -> dict[str, Any]:
    """The document of one major version: its paths, the schemas they reach, and the metadata
    the gateway routes by (``x-interchange-*``)."""
    full = json.loads(json.dumps(app.openapi()))
    prefix = f"/{version}/"
    paths = {p: item for p, item in full.get("paths", {}).items() if p.startswith(prefix)}
    schemas = full.get("components", {}).get("schemas", {})
    keep: set[str] = set()
    todo = _refs(paths)
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
        components["securitySchemes"] = security
    info = dict(full["info"])
    info["version"] = f"{version.lstrip('v')}.0.0"
    spec: dict[str, Any] = {
        "openapi": full["openapi"],
        "info": info,
        "servers": [{"url": server}],
        "x-interchange-api": api,
        "x-interchange-service": service,
        "x-interchange-tier": tier,
        "paths": paths,
    }
    if components:
        spec["components"] = components
    return spec


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_yaml(spec: dict[str, Any]) -> str:
    return yaml.dump(spec, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=100)


__all__ = ["document_problems", "install_openapi", "render_yaml", "version_spec"]
