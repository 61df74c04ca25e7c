"""An operation's own examples, read from its contract (OpenAPI 3.1 ``example`` / ``examples``).

Used by the getting-started page (the first call is its operation's examples) and by the tests
that check every example against its schema and send every request example through the gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSON = "application/json"


@dataclass(frozen=True)
class OperationExample:
    """The first example of each part of one operation."""

    path_params: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)
    request_body: Any = None
    #: The first success status that has an example, and that example.
    status: str | None = None
    response_body: Any = None


def first_value(node: Mapping[str, Any]) -> Any:
    """The value of a media type's or parameter's ``example``, else of its first ``examples`` entry."""
    if "example" in node:
        return node["example"]
    examples = node.get("examples")
    if isinstance(examples, Mapping) and examples:
        first = next(iter(examples.values()))
        return first.get("value") if isinstance(first, Mapping) else None
    return None


def has_example(node: Mapping[str, Any]) -> bool:
    return "example" in node or bool(node.get("examples"))


def operation_example(op: Mapping[str, Any]) -> OperationExample:
    parts: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {}}
    for param in op.get("parameters", []):
        where = parts.get(param.get("in", ""))
        if where is not None and has_example(param):
            where[param["name"]] = first_value(param)
    body = op.get("requestBody", {}).get("content", {}).get(JSON)
    status, answer = None, None
    for code, response in op.get("responses", {}).items():
        media = response.get("content", {}).get(JSON) if str(code).startswith("2") else None
        if media is not None and has_example(media):
            status, answer = str(code), first_value(media)
            break
        if str(code).startswith("2") and "content" not in response and status is None:
            status = str(code)  # 204: no body to show
    return OperationExample(
        path_params=parts["path"],
        query=parts["query"],
        headers=parts["header"],
        request_body=first_value(body) if body is not None and has_example(body) else None,
        status=status,
        response_body=answer,
    )


__all__ = ["JSON", "OperationExample", "first_value", "has_example", "operation_example"]
