"""One error hierarchy for every service; one handler turns it into RFC 9457 problem+json.

    InterchangeError                 500  something failed on our side (no detail leaks out)
    ├── BadRequest                   400  the request cannot be read (malformed JSON, bad header)
    ├── Unauthorized                 401  no token, or a token we do not accept
    ├── Forbidden                    403  a valid token without the scope, or not the owner
    ├── NotFound                     404  no such object (or not yours to see)
    ├── MethodNotAllowed             405
    ├── Conflict                     409  the object's state does not allow it, or a request is in flight
    ├── Gone                         410  a version past its sunset
    ├── PayloadTooLarge              413
    ├── UnprocessableContent         422  the body is well formed but wrong
    │   └── BusinessRuleViolation    422  ...by a business rule (unknown SKU, inactive customer)
    ├── TooManyRequests              429
    ├── UpstreamUnavailable          502  the tier below failed or is unreachable
    └── UpstreamTimeout              504  the tier below did not answer in time

Raise these below the endpoint; never build a response by hand for an error.
"""

from __future__ import annotations

from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"
_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "errors"})


class InterchangeError(Exception):
    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions

    @property
    def type(self) -> str:
        return problem_type(self.slug)

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        # Extensions add members; they never replace RFC 9457's own (``status`` is the HTTP status).
        body.update((k, v) for k, v in self.extensions.items() if k not in _MEMBERS)
        return body


def problem_type(slug: str) -> str:
    return f"urn:interchange:problem:{slug}"


class BadRequest(InterchangeError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(InterchangeError):
    status, slug, title = 401, "unauthorized", "Unauthorized"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')


class Forbidden(InterchangeError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(InterchangeError):
    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(InterchangeError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class Conflict(InterchangeError):
    status, slug, title = 409, "conflict", "Conflict"


class Gone(InterchangeError):
    status, slug, title = 410, "gone", "Gone"


class PayloadTooLarge(InterchangeError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnprocessableContent(InterchangeError):
    status, slug, title = 422, "validation-failed", "The request body is not valid"


class BusinessRuleViolation(UnprocessableContent):
    slug, title = "business-rule-violation", "The request breaks a business rule"


class TooManyRequests(InterchangeError):
    status, slug, title = 429, "rate-limited", "Too many requests"


class UpstreamUnavailable(InterchangeError):
    status, slug, title = 502, "upstream-unavailable", "A system behind this API is unavailable"


class UpstreamTimeout(InterchangeError):
    status, slug, title = 504, "upstream-timeout", "A system behind this API did not answer in time"


__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "BadRequest",
    "BusinessRuleViolation",
    "Conflict",
    "Forbidden",
    "Gone",
    "InterchangeError",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "TooManyRequests",
    "Unauthorized",
    "UnprocessableContent",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "problem_type",
]
