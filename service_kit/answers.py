"""Reading a process API's answers in the tier above: a canonical object from a 2xx, or this
service's own error from a problem+json refusal.

    422                   -> BusinessRuleViolation (by its problem type) / UnprocessableContent,
                             with the upstream's canonical pointers
    409 with Retry-After  -> Conflict carrying it: the same Idempotency-Key is still being taken in
    409 without           -> Conflict with the upstream's detail
    any other 4xx         -> UpstreamUnavailable: our request or credentials were refused, which
                             the caller cannot fix
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from service_kit.errors import (
    BusinessRuleViolation,
    Conflict,
    InterchangeError,
    UnprocessableContent,
    UpstreamUnavailable,
    problem_type,
)

M = TypeVar("M", bound=BaseModel)


def parse_answer(model: type[M], resp: httpx.Response, *, upstream: str) -> M:
    """A tolerant reader: fields the upstream adds later must not break the caller. Parsed from the
    bytes by pydantic itself (no json.loads into dicts first: a status read pays it each time)."""
    try:
        return model.model_validate_json(resp.content, extra="ignore")
    except (ValueError, ValidationError) as exc:
        raise UpstreamUnavailable(f"The {upstream} service gave an answer this API cannot read.") from exc


def _problem(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _pointed(error: dict[str, Any]) -> dict[str, Any]:
    """An upstream's error in the problems' shape (``pointer``, ``in``, ``detail``), also when it
    came in FastAPI's (``loc``, ``msg``): the tier above renames pointers, it cannot rename a ``loc``."""
    if "pointer" in error or not isinstance(error.get("loc"), list):
        return error
    loc = [str(part) for part in error["loc"]]
    where = loc[0] if loc and loc[0] in ("body", "query", "path", "header") else "body"
    parts = loc[1:] if loc and loc[0] == where else loc
    return {"pointer": "#/" + "/".join(parts) if parts else "#", "in": where, "detail": str(error.get("msg", ""))}


def refusal(
    resp: httpx.Response, *, upstream: str, still_taking_in: str, default_retry_after: str | None = None
) -> InterchangeError:
    """The error for a refused call. ``still_taking_in`` is the detail of a 409 with Retry-After;
    with ``default_retry_after`` every 409 is read as one (a caller that can only retry)."""
    problem = _problem(resp)
    if resp.status_code == 422:
        kind = BusinessRuleViolation if problem.get("type") == problem_type(BusinessRuleViolation.slug) else None
        error_class = kind or UnprocessableContent
        errors = problem.get("errors")
        return error_class(
            str(problem.get("detail") or error_class.title),
            errors=[_pointed(e) for e in errors if isinstance(e, dict)] if isinstance(errors, list) else None,
        )
    if resp.status_code == 409:
        if retry_after := resp.headers.get("Retry-After", default_retry_after):
            return Conflict(still_taking_in, headers={"Retry-After": retry_after})
        return Conflict(str(problem.get("detail") or Conflict.title))
    return UpstreamUnavailable(f"The {upstream} service refused this API's request ({resp.status_code}).")


__all__ = ["parse_answer", "refusal"]
