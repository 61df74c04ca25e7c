"""A partner's own order dialect, described by data: a field mapping from the partner's order
fields to the marketplace's version 2 order (``MarketplaceOrderCreateV2``), stored with the
partner's account by an operator (``interchange partners onboard --mapping FILE``) and applied to
the partner's orders before the version 2 validation. A second marketplace dialect is a mapping
file, not code.

    mapping_version: 1
    fields:
      - {from: purchase.id, to: marketplace_order_id}
      - {from: "items[].sku", to: "lines[].seller_sku"}
      - {from: "items[].qty", to: "lines[].quantity", as: integer}
      - {from: purchase.currency, to: "lines[].item_price.currency", default: EUR}
      - {value: EUR, to: "lines[].item_price.currency"}

``from`` is a dotted path in the partner's order, with at most one ``[]`` (its list of items);
``to`` a field of the version 2 order (``lines[].`` for a line's). An item path fills one line per
item; a plain path or a ``value`` fills every line's field. ``default`` stands in for a missing or
null value; ``as`` converts a scalar (``string``, ``integer``). A problem with the partner's order
points at the partner's own field (``#/items/1/qty``), not at the version 2 one.

Hand-written rather than a transformation library (JMESPath, jsonata): the mapping is a flat
list of path pairs that must be checked against the version 2 model field by field when it is
stored, and whose errors must be translated back to the partner's paths; an expression language
would allow what cannot be checked. Pure functions and pydantic models, no I/O.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from experience_apis.marketplace.schemas_v2 import MarketplaceOrderCreateV2

_SEGMENT = r"[A-Za-z_][A-Za-z0-9_\-]*"
_SOURCE = re.compile(rf"^{_SEGMENT}(\[\])?(\.{_SEGMENT}(\[\])?)*$")
LINES = "lines"
#: What ``as: integer`` converts: ASCII digits only (``str.isdigit`` takes ``²``, which ``int`` refuses).
_WHOLE = re.compile(r"-?[0-9]+")


def _leaf_fields(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """Every scalar field of ``model`` by its dotted path (``lines[].item_price.amount``)."""
    found: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
            annotation = args[0] if len(args) == 1 else annotation
        path = f"{prefix}{name}"
        if typing.get_origin(annotation) is list:
            (item,) = typing.get_args(annotation)
            found |= _leaf_fields(item, f"{path}[].")
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found |= _leaf_fields(annotation, f"{path}.")
        else:
            found[path] = annotation
    return found


#: The version 2 order's fields a mapping may fill.
TARGETS = tuple(_leaf_fields(MarketplaceOrderCreateV2))


class FieldRule(BaseModel):
    """One field of the version 2 order and where it comes from."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    to: Annotated[str, Field(min_length=1, max_length=200, description="A field of the version 2 order.")]
    source: Annotated[
        str | None,
        Field(alias="from", default=None, max_length=200, description="A dotted path in the partner's order."),
    ]
    value: Annotated[str | int | None, Field(default=None, description="A constant, instead of `from`.")]
    default: Annotated[str | int | None, Field(default=None, description="When `from` is missing or null.")]
    as_: Annotated[Literal["string", "integer"] | None, Field(alias="as", default=None)]

    @field_validator("to")
    @classmethod
    def _known_target(cls, to: str) -> str:
        if to not in TARGETS:
            raise ValueError(f"{to!r} is not a field of the version 2 order; one of: {', '.join(TARGETS)}")
        return to

    @field_validator("source")
    @classmethod
    def _a_path(cls, source: str | None) -> str | None:
        if source is not None and not _SOURCE.match(source):
            raise ValueError(f"{source!r} is not a dotted path like purchase.id or items[].sku")
        if source is not None and source.count("[]") > 1:
            raise ValueError(f"{source!r} has more than one `[]`; one list of items is supported")
        return source

    @model_validator(mode="after")
    def _check(self) -> FieldRule:
        if (self.source is None) == (self.value is None):
            raise ValueError("give exactly one of `from` (a path in the partner's order) or `value` (a constant)")
        if self.source and "[]" in self.source and not self.to.startswith(f"{LINES}[]."):
            raise ValueError(f"`from` {self.source!r} is a list of items: map it to a line field (lines[]....)")
        return self


class DialectMapping(BaseModel):
    """A partner's order dialect: which of its fields fill which field of the version 2 order."""

    model_config = ConfigDict(extra="forbid")

    mapping_version: Literal[1] = 1
    description: Annotated[str | None, Field(default=None, max_length=500)]
    fields: Annotated[list[FieldRule], Field(min_length=1, max_length=200)]

    @model_validator(mode="after")
    def _one_source_per_field(self) -> DialectMapping:
        seen: set[str] = set()
        for rule in self.fields:
            if rule.to in seen:
                raise ValueError(f"`{rule.to}` is filled by more than one rule")
            seen.add(rule.to)
        lists = {_list_of(rule.source) for rule in self.fields if rule.source and "[]" in rule.source}
        if len(lists) > 1:
            raise ValueError(f"the lines come from more than one list ({', '.join(sorted(lists))}); use one")
        if any(rule.to.startswith(f"{LINES}[].") for rule in self.fields) and not lists:
            raise ValueError("line fields are mapped but no rule names the partner's list of items (`from: x[].y`)")
        return self


def _list_of(source: str | None) -> str:
    return (source or "").split("[]", 1)[0]


_MISSING = object()


def _get(document: Any, path: str) -> Any:
    for key in path.split(".") if path else ():
        if not isinstance(document, Mapping) or key not in document:
            return _MISSING
        document = document[key]
    return _MISSING if document is None else document


def _put(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        document = document.setdefault(key, {})
    document[last] = value


def _convert(value: Any, kind: str | None) -> Any:
    if kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if kind == "integer" and isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        return int(value)
    return value  # not convertible: the version 2 validation refuses it at the partner's field


@dataclass(frozen=True, slots=True)
class CompiledMapping:
    """A stored mapping ready to apply: the partner's order in, the version 2 body out."""

    mapping: DialectMapping

    def apply(self, order: Any) -> dict[str, Any]:
        """The version 2 body (not yet validated: ``MarketplaceOrderCreateV2`` does that, and its
        errors go through ``source_pointer``)."""
        body: dict[str, Any] = {}
        items = self._items(order)
        if items is not None:
            body[LINES] = [{} for _ in items]
        for rule in self.mapping.fields:
            if rule.source is not None and "[]" in rule.source:
                _, _, field = rule.source.partition("[].")
                for line, item in zip(body.get(LINES, []), items or [], strict=True):
                    self._fill(line, rule.to.removeprefix(f"{LINES}[]."), _get(item, field), rule)
                continue
            value = rule.value if rule.source is None else _get(order, rule.source)
            if rule.to.startswith(f"{LINES}[]."):
                for line in body.get(LINES, []):
                    self._fill(line, rule.to.removeprefix(f"{LINES}[]."), value, rule)
            else:
                self._fill(body, rule.to, value, rule)
        return body

    def _items(self, order: Any) -> list[Any] | None:
        for rule in self.mapping.fields:
            if rule.source and "[]" in rule.source:
                found = _get(order, _list_of(rule.source))
                return found if isinstance(found, list) else None
        return None

    @staticmethod
    def _fill(target: dict[str, Any], path: str, value: Any, rule: FieldRule) -> None:
        if value is _MISSING and rule.default is not None:
            value = rule.default
        if value is not _MISSING:
            _put(target, path, _convert(value, rule.as_))

    def source_pointer(self, pointer: str) -> str:
        """A version 2 pointer (``#/lines/1/quantity``) as the partner's field (``#/items/1/qty``);
        one the mapping does not fill stays as it is."""
        parts = [p for p in pointer.removeprefix("#").split("/") if p]
        index = None
        if len(parts) >= 2 and parts[0] == LINES and parts[1].isdigit():
            index, parts = parts[1], [f"{LINES}[]", *parts[2:]]
        template = ".".join(parts)
        exact = next((rule for rule in self.mapping.fields if rule.to == template), None)
        if exact is not None:
            source = exact.source
        elif template in (LINES, f"{LINES}[]"):  # the lines, or one line, as a whole: the partner's items
            source = self._list_source()
        else:  # an object as a whole (``#/buyer`` missing): the first field of it the mapping fills
            inside = next((rule for rule in self.mapping.fields if rule.to.startswith(f"{template}.")), None)
            if inside is None:
                return pointer
            source = inside.source
        if source is None:  # a constant: nothing of the partner's to point at
            return pointer
        if "[]" in source:
            source = source.replace("[]", f".{index}" if index is not None else "", 1)
        return "#/" + source.replace(".", "/")

    def _list_source(self) -> str | None:
        for rule in self.mapping.fields:
            if rule.source and "[]" in rule.source:
                return _list_of(rule.source) + "[]"
        return None

    def to_order(self, order: Any) -> MarketplaceOrderCreateV2:
        """The partner's order as a version 2 order; a ``MappedOrderInvalid`` names the partner's
        fields at fault."""
        try:
            return MarketplaceOrderCreateV2.model_validate(self.apply(order))
        except ValidationError as exc:
            errors = [
                {
                    "pointer": self.source_pointer("#/" + "/".join(str(p) for p in error["loc"])),
                    "in": "body",
                    "detail": error["msg"],
                }
                for error in exc.errors(include_url=False)
            ]
            raise MappedOrderInvalid(errors) from None


class MappedOrderInvalid(Exception):
    """The partner's order, mapped, is not a valid version 2 order; ``errors`` in its own fields."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} field(s) invalid")
        self.errors = errors


def compile_mapping(document: Mapping[str, Any]) -> CompiledMapping:
    """Validate a mapping document (a ``ValidationError`` names each field at fault)."""
    return CompiledMapping(DialectMapping.model_validate(document))


def mapping_errors(exc: ValidationError, *, prefix: str) -> list[dict[str, Any]]:
    """A mapping's ``ValidationError`` as problem errors, pointers under ``prefix``."""
    return [
        {
            "pointer": prefix + "".join(f"/{p}" for p in error["loc"] if p not in ("function-after",)),
            "in": "body",
            "detail": error["msg"].removeprefix("Value error, "),
        }
        for error in exc.errors(include_url=False)
    ]


__all__ = [
    "TARGETS",
    "CompiledMapping",
    "DialectMapping",
    "FieldRule",
    "MappedOrderInvalid",
    "compile_mapping",
    "mapping_errors",
]
