"""Request bodies against the contract: media type, size, JSON nesting depth and schema.

At start-up ``compile_body`` turns each operation's ``requestBody`` into a ``BodyPolicy``: the
media types it accepts and, for JSON, its schema compiled once with jsonschema-rs (the schema's
``#/components/...`` references resolve against the contract's own components). Per request,
``check_body``:

    Content-Length over the cap              413, before a byte of the body is read
    a body the contract does not take        415 (its media type is not one the operation lists)
    no body where the contract requires one  422 at ``#``
    the body read, counting bytes            413 as soon as the count passes the cap
    not JSON (or NaN/Infinity)               400
    JSON nested deeper than the cap          400
    not valid against the schema             422, ``errors`` naming each field by JSON pointer

The body of a JSON operation is buffered (it has to be, to be validated) and forwarded as read.
Other bodies stream through ``capped`` which counts bytes on the way and aborts at the cap.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
from starlette.requests import ClientDisconnect
from starlette.types import Receive

from service_kit.errors import BadRequest, InterchangeError, PayloadTooLarge, UnprocessableContent

#: How many schema errors a 422 lists at most.
MAX_ERRORS = 20


class UnsupportedMediaType(InterchangeError):
    # The kit's hierarchy has no 415; the problem type matches the kit's handler for Starlette's.
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class ContractBodyError(Exception):
    """A request body in a contract that the gateway cannot enforce; it does not start with it."""


@dataclass(frozen=True, slots=True)
class BodyPolicy:
    """What one operation accepts as its request body."""

    media_types: frozenset[str]
    #: The compiled schema of its JSON media type, if it has one.
    validator: Any | None
    required: bool

    def accepts(self, media_type: str) -> bool:
        return media_type in self.media_types


def compile_body(operation: Mapping[str, Any], spec: Mapping[str, Any]) -> BodyPolicy | None:
    """The operation's body policy; ``None`` when it takes no body."""
    body = _resolve(operation.get("requestBody"), spec)
    if not isinstance(body, dict):
        return None
    content = body.get("content") or {}
    if not isinstance(content, dict) or not content:
        raise ContractBodyError("a requestBody without content")
    validator = None
    for media_type, entry in content.items():
        if _is_json(media_type.lower()) and isinstance(entry, dict) and "schema" in entry:
            document = dict(entry["schema"])
            document.setdefault("components", spec.get("components") or {})
            try:
                validator = jsonschema_rs.Draft202012Validator(document)
            except (ValueError, jsonschema_rs.ReferencingError) as exc:
                raise ContractBodyError(f"the {media_type} schema does not compile: {exc}") from exc
            break
    return BodyPolicy(
        media_types=frozenset(m.lower() for m in content),
        validator=validator,
        required=bool(body.get("required", False)),
    )


def media_type_of(content_type: bytes) -> str:
    return content_type.partition(b";")[0].strip().lower().decode("latin-1")


async def read_capped(receive: Receive, limit: int, *, length: int | None = None) -> bytes:
    """The whole request body, refused (413) as soon as it is longer than ``limit``.

    ``length``: the Content-Length the caller sent (the server has framed the body by it). Once
    that many bytes are in, the body is complete and nothing more is awaited: granian delivers
    a body in two messages, the bytes (``more_body`` true) and then an empty last one, and each
    ``receive`` is a hop from granian's thread to the event loop (an extra ~10% of the
    gateway's CPU per proxied POST, bench/README.md)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
        if not message.get("more_body", False) or (length is not None and size >= length):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class CappedBody:
    """A request body streamed up as it arrives, counted on the way; past the cap the stream
    fails (the service sees an aborted request) and ``exceeded`` tells the proxy to answer 413."""

    def __init__(self, receive: Receive, limit: int, *, length: int | None = None) -> None:
        self._receive = receive
        self.limit = limit
        self.exceeded = False
        self._length = length  # the Content-Length sent: done once that much is in (read_capped)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        length = self._length
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > self.limit:
                    self.exceeded = True
                    raise too_large(self.limit)
                yield chunk
            if not message.get("more_body", False) or (length is not None and size >= length):
                return


def check_json(body: bytes, policy: BodyPolicy, *, max_depth: int) -> None:
    """Refuse a body nested too deeply (400), not JSON (400) or not valid for the schema (422)."""
    try:
        document = json.loads(body, parse_constant=_no_constants)
    except RecursionError as exc:  # thousands of levels: the parser's own limit, hit at C speed
        raise _too_deep(max_depth) from exc
    except ValueError as exc:
        raise BadRequest("The request body is not valid JSON; send a JSON document.") from exc
    # Fewer brackets than the cap cannot nest deeper than it: most bodies stop at this count.
    if body.count(b"[") + body.count(b"{") > max_depth and _deeper_than(document, max_depth):
        raise _too_deep(max_depth)
    validator = policy.validator
    if validator is None or validator.is_valid(document):
        return
    errors = [
        {"pointer": _pointer(error), "in": "body", "detail": error.message}
        for _, error in zip(range(MAX_ERRORS), validator.iter_errors(document), strict=False)
    ]
    fields = ", ".join(dict.fromkeys(e["pointer"] for e in errors[:5]))
    raise UnprocessableContent(f"Fix these fields and send the request again: {fields}.", errors=errors)


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than {limit} bytes.")


def _too_deep(max_depth: int) -> BadRequest:
    return BadRequest(f"The request body nests arrays and objects more than {max_depth} levels deep.")


def _deeper_than(document: Any, max_depth: int) -> bool:
    """Whether arrays and objects nest more than ``max_depth`` deep in the parsed document.

    Checked after parsing, not on the bytes: the parser already stops a document thousands of
    levels deep on its own (RecursionError) and costs far less than any scan of the raw text
    that has to tell brackets inside strings from the others; this walk costs about what the
    parse did, and only for bodies with more brackets than the cap."""
    if not isinstance(document, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        for child in node.values() if type(node) is dict else node:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
    return False


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _pointer(error: Any) -> str:
    path = [str(p) for p in error.instance_path]
    kind = error.kind
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        path.append(str(kind.property))
    elif isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties) and kind.unexpected:
        path.append(str(kind.unexpected[0]))
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path) if path else "#"


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _resolve(node: Any, spec: Mapping[str, Any]) -> Any:
    """A local ``$ref`` (``#/components/requestBodies/X``) followed; other nodes as they are."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 10:
        ref: str = node["$ref"]
        if not ref.startswith("#/"):
            raise ContractBodyError(f"only local references are supported, not {ref!r}")
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
        node, seen = target, seen + 1
    return node


__all__ = [
    "BodyPolicy",
    "CappedBody",
    "ContractBodyError",
    "UnsupportedMediaType",
    "check_json",
    "compile_body",
    "media_type_of",
    "read_capped",
    "too_large",
]
