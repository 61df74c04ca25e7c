"""The portal's pages, rendered with Jinja2 (autoescaped) from the catalog.

Built once per gateway process, on the first portal request (``Portal.build``): the proxy's hot
path and a gateway that nobody browses never load the contracts a second time, Jinja2 or the
changelog's comparison.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape

from gateway.portal.catalog import ApiVersion, Catalog, load_catalog
from gateway.portal.changelog import changelogs
from gateway.portal.examples import operation_example


@dataclass(frozen=True)
class Call:
    """One call of the getting-started page, filled in from its operation's examples."""

    summary: str
    method: str
    url_path: str  # under the gateway, e.g. /marketplace/v2/orders
    headers: tuple[tuple[str, str], ...]
    body: str | None
    status: str
    answer: str


@dataclass(frozen=True)
class FirstCall:
    api: ApiVersion
    submit: Call
    read: Call | None


class Portal:
    def __init__(self, *, catalog: Catalog, gateway_url: str, token_url: str) -> None:
        self.catalog = catalog
        self.gateway_url = gateway_url.rstrip("/")
        self.token_url = token_url
        self.env = Environment(
            loader=PackageLoader("gateway.portal", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=False,
        )
        self.env.filters["shell"] = lambda text: shlex.quote(str(text))
        self._specs = {v.slug: json.dumps(v.spec, separators=(",", ":")).encode() for v in catalog.versions}

    @classmethod
    def build(cls, *, contracts_dir: Path, gateway_url: str, token_url: str) -> Portal:
        catalog = load_catalog(contracts_dir, gateway_url=gateway_url, token_url=token_url)
        return cls(catalog=catalog, gateway_url=gateway_url, token_url=token_url)

    def spec_json(self, slug: str) -> bytes | None:
        return self._specs.get(slug)

    def _render(self, template: str, **values: Any) -> str:
        return self.env.get_template(template).render(gateway_url=self.gateway_url, token_url=self.token_url, **values)

    def index(self) -> str:
        return self._render("index.html", apis=self.catalog.apis())

    def reference(self, version: ApiVersion, *, client_id: str | None) -> str:
        successor = None
        if version.successor:
            successor = next(
                (v for v in self.catalog.versions if f"/{v.api}/{v.version}" == version.successor.rstrip("/")), None
            )
        return self._render("reference.html", v=version, successor=successor, client_id=client_id)

    def changelog(self) -> str:
        logs = [log for versions in self.catalog.apis().values() for log in changelogs(versions)]
        return self._render("changelog.html", logs=logs)

    def start(self, *, client_id: str | None) -> str:
        first = self.first_call()
        shell_id = shlex.quote(client_id) if client_id else "<your client id>"
        return self._render("start.html", first=first, client_id=client_id, client_id_shell=shell_id)

    def webhooks(self) -> str:
        hooks = []
        for versions in self.catalog.apis().values():
            current = next((v for v in versions if not v.deprecated), versions[0])
            for name, item in (current.spec.get("webhooks") or {}).items():
                op = item.get("post", {})
                example = operation_example(op)
                media = op.get("requestBody", {}).get("content", {}).get("application/json", {})
                hooks.append(
                    {
                        "name": name,
                        "api": current,
                        "description": op.get("description") or op.get("summary", ""),
                        "example": json.dumps(example.request_body, indent=2) if example.request_body else "",
                        "schema": json.dumps(_resolve(media.get("schema", {}), current.spec), indent=2),
                    }
                )
        return self._render("webhooks.html", hooks=hooks)

    def first_call(self) -> FirstCall | None:
        """The README's first call, on the current version of the first API that has one: its first
        POST operation with a request example, and the GET of what it made (the POST's path plus
        one parameter, filled from the request body's field of the same name). An API whose call
        can be read back that way comes first (a whole walkthrough); else the first one found."""
        found = list(self._first_calls())
        return next((call for call in found if call.read is not None), found[0] if found else None)

    def _first_calls(self) -> Iterator[FirstCall]:
        for versions in self.catalog.apis().values():
            current = next((v for v in versions if not v.deprecated), versions[0])
            ops = list(current.operations())
            for method, path, op in ops:
                example = operation_example(op)
                if method != "POST" or example.request_body is None:
                    continue
                base = f"/{current.api}/{current.version}"
                submit = Call(
                    summary=str(op.get("summary", "Submit")),
                    method=method,
                    url_path=base + path,
                    headers=tuple(sorted(example.headers.items())),
                    body=json.dumps(example.request_body, indent=2),
                    status=example.status or "",
                    answer=json.dumps(example.response_body) if example.response_body is not None else "",
                )
                yield FirstCall(
                    api=current, submit=submit, read=self._read_after(current, path=path, body=example.request_body)
                )
                break

    def _read_after(self, version: ApiVersion, *, path: str, body: Any) -> Call | None:
        for method, other, op in version.operations():
            name = other.removeprefix(path + "/")
            if method != "GET" or not other.startswith(path + "/") or not (name.startswith("{") and name.endswith("}")):
                continue
            value = body.get(name[1:-1]) if isinstance(body, dict) else None
            if value is None:
                continue
            example = operation_example(op)
            return Call(
                summary=str(op.get("summary", "Read it")),
                method=method,
                url_path=f"/{version.api}/{version.version}{path}/{quote(str(value), safe='')}",
                headers=(),
                body=None,
                status=example.status or "",
                answer=json.dumps(example.response_body) if example.response_body is not None else "",
            )
        return None


def _resolve(node: Any, spec: Any, depth: int = 0) -> Any:
    """A schema with its local ``$ref``s inlined (cut at a depth, against cycles), for display."""
    if depth > 8:
        return node
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = spec
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            return _resolve(target, spec, depth + 1)
        return {k: _resolve(v, spec, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, spec, depth + 1) for v in node]
    return node


__all__ = ["Call", "FirstCall", "Portal"]
