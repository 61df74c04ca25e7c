"""How a ``@precomputed`` route's parameters are read and validated (``service_kit.precomputed``):
plain path, query and header parameters precompiled, anything else through FastAPI's own
functions, and a JSON body validated by pydantic straight from its bytes.

Every answer is the one FastAPI gives: the same values, the same errors at the same locations.
Where the fast way could word an error differently (a body that does not validate), the request
goes FastAPI's own way (``request_body_to_args``) for its errors.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from types import UnionType
from typing import Any, Union, get_args, get_origin

from fastapi._body_limit import get_body_limit_error
from fastapi._compat import Undefined
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import _should_embed_body_fields, request_body_to_args, request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.params import Form
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.requests import Request

_SCALARS = (str, int, float, bool)


class Unsupported(TypeError):
    """This route needs something the precomputed path does not do; FastAPI serves it."""


def _is_scalar(annotation: Any) -> bool:
    """``str``, ``int``, ``float``, ``bool``, an Enum, or one of them or None."""
    if get_origin(annotation) in (Union, UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        return len(members) == 1 and _is_scalar(members[0])
    return annotation in _SCALARS or (isinstance(annotation, type) and issubclass(annotation, Enum))


@dataclass(frozen=True, slots=True)
class _Scalar:
    """A plain path, query or header parameter: read by its key and validated by its field, as
    FastAPI's ``request_params_to_args`` does for it, without re-deriving per request what kind of
    parameter it is and under which names it may come."""

    field: Any
    key: str
    loc: tuple[str, str]
    none_when_missing: bool


class Params:
    """A node's parameters of one kind: plain ones precompiled, any other (a sequence, a model of
    parameters, aliases) through FastAPI's ``request_params_to_args``."""

    __slots__ = ("others", "scalars")

    def __init__(self, fields: Sequence[Any]) -> None:
        self.scalars: list[_Scalar] = []
        self.others: list[Any] = []
        for param in fields:
            info = param.field_info
            plain_name = info.validation_alias in (None, param.alias)  # no AliasChoices / AliasPath
            if plain_name and not param.config and _is_scalar(info.annotation):
                missing_is_none = not info.is_required() and info.default is None and not info.validate_default
                self.scalars.append(_Scalar(param, param.alias, (info.in_.value, param.alias), missing_is_none))
            else:
                self.others.append(param)

    def __bool__(self) -> bool:
        return bool(self.scalars or self.others)

    def validate(self, received: Any, kwargs: dict[str, Any], errors: list[Any]) -> bool:
        """Put the valid values in ``kwargs`` and the errors in ``errors``; True when some failed."""
        failed = False
        for scalar in self.scalars:
            value = received.get(scalar.key)
            if value is None:
                if scalar.none_when_missing:
                    kwargs[scalar.field.name] = None
                    continue
                # Missing and required, or a default to validate: FastAPI's own handling.
                failed = _validate([scalar.field], received, kwargs, errors) or failed
                continue
            valid, field_errors = scalar.field.validate(value, {}, loc=scalar.loc)
            if field_errors:
                errors.extend(field_errors)
                failed = True
            else:
                kwargs[scalar.field.name] = valid
        if self.others:
            failed = _validate(self.others, received, kwargs, errors) or failed
        return failed


def _validate(fields: Sequence[Any], received: Any, kwargs: dict[str, Any], errors: list[Any]) -> bool:
    """FastAPI's own validation of these path, query or header parameters; True when some failed."""
    values, field_errors = request_params_to_args(fields, received)
    kwargs.update(values)
    errors.extend(field_errors)
    return bool(field_errors)


@dataclass(frozen=True, slots=True)
class Received:
    """A request's body as read: the validated model when pydantic took the bytes, otherwise what
    FastAPI would hand its validation (``Undefined`` for none, the bytes, or the parsed JSON)."""

    valid: BaseModel | None = None
    raw: Any = Undefined


@dataclass(frozen=True, slots=True)
class JsonBody:
    """The route's one body parameter, a pydantic model sent as JSON (not embedded, not a form)."""

    field: Any
    model: type[BaseModel]

    @classmethod
    def of(cls, dependant: Dependant, route: Any) -> JsonBody:
        fields = dependant.body_params
        if len(fields) != 1 or _should_embed_body_fields(fields) or getattr(route, "_embed_body_fields", True):
            raise Unsupported("a body of more than one parameter, or an embedded one")
        body = fields[0]
        model = body.field_info.annotation
        if isinstance(body.field_info, Form) or not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise Unsupported("a body that is not one JSON pydantic model")
        strict = getattr(route, "strict_content_type", True)
        if (strict.value if isinstance(strict, DefaultPlaceholder) else strict) is not True:
            raise Unsupported("a body read without its content type")
        return cls(field=body, model=model)

    async def read(self, request: Request) -> Received:
        """Read the body as FastAPI's request handler does, before any dependency runs: bad JSON is
        its 422 (``json_invalid``), a body that cannot be read its 400."""
        try:
            body = await request.body()
            if not body:
                return Received()
            if not _is_json(request.headers.get("content-type")):
                return Received(raw=body)  # FastAPI validates the bytes (a 422 naming the body)
            try:
                return Received(valid=self.model.model_validate_json(body))
            except ValidationError:
                pass  # FastAPI's own parse and validation give the errors, worded as it words them
            return Received(raw=json.loads(body))
        except json.JSONDecodeError as exc:
            error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}
            raise RequestValidationError([error | {"ctx": {"error": exc.msg}}], body=exc.doc) from exc
        except HTTPException:
            raise
        except Exception as exc:
            if MAX_BODY_SIZE_SCOPE_KEY in request.scope and (limit := get_body_limit_error(exc)):
                raise limit from exc
            raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc

    async def validate(self, received: Received, kwargs: dict[str, Any], errors: list[Any]) -> bool:
        """Put the body in ``kwargs`` or its errors in ``errors``; True when it failed."""
        if received.valid is not None:
            kwargs[self.field.name] = received.valid
            return False
        values, body_errors = await request_body_to_args([self.field], received.raw, embed_body_fields=False)
        kwargs.update(values)
        errors.extend(body_errors)
        return bool(body_errors)


def _is_json(content_type: str | None) -> bool:
    """FastAPI's test: ``application/json`` or ``application/*+json`` (a missing type is not, in
    its strict mode)."""
    if not content_type:
        return False
    if content_type == "application/json":  # what clients send: no parsing of the header for it
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


__all__ = ["JsonBody", "Params", "Received", "Unsupported"]
