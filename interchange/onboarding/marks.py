"""YAML read with where each value is: PyYAML's ``compose`` keeps every node's start mark, so a
problem found later (a pydantic error's ``loc``, a service's JSON pointer) is told as
``file:line: field: problem``. Plain PyYAML: its composer already has the marks, only the walk
from a path to its node is ours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class YamlRefused(Exception):
    """The file is not readable YAML, or a value in it is not what is wanted: one line,
    ``file:line: field: problem``."""


@dataclass(frozen=True)
class MarkedDocument:
    path: Path
    data: Any
    root: yaml.Node | None

    def line_of(self, loc: Sequence[str | int]) -> int:
        """The 1-based line of the value at ``loc`` (or of the nearest enclosing one that exists)."""
        node = self.root
        line = 1 if node is None else node.start_mark.line + 1
        for part in loc:
            node = _child(node, part)
            if node is None:
                break
            line = node.start_mark.line + 1
        return line

    def refusal(self, loc: Sequence[str | int], problem: str) -> YamlRefused:
        return YamlRefused(f"{self.path}:{self.line_of(loc)}: {field_name(loc) or '(the document)'}: {problem}")


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        child: yaml.Node = node.value[part]
        return child
    return None


def field_name(loc: Sequence[str | int]) -> str:
    """``("fields", 2, "to")`` -> ``fields[2].to``."""
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def load(path: Path) -> MarkedDocument:
    try:
        text = path.read_text()
    except OSError as exc:
        raise YamlRefused(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise YamlRefused(f"{path}{line}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise YamlRefused(f"{path}: not valid YAML: {exc}") from None
    return MarkedDocument(path=path, data=data, root=root)


def pointer_loc(pointer: str) -> list[str | int]:
    """A JSON pointer (``#/fields/2/to``) as a path (``["fields", 2, "to"]``)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.removeprefix("#").split("/") if p]
    return [int(p) if p.isdigit() else p for p in parts]


__all__ = ["MarkedDocument", "YamlRefused", "field_name", "load", "pointer_loc"]
