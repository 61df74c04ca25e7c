"""The gateway's ``/metrics`` is for operators only: an internal client's token with the ``ops``
scope. Anyone else, partners included, gets the 404 problem of a path that does not exist: the
metrics name every route and client tier the gateway serves, which is not a partner's business,
and the answer should not tell an outsider that something is there.

Prometheus scrapes it with its own OAuth 2.0 client credentials (``oauth2:`` in the scrape config,
token URL ``/oauth2/token``, scope ``ops``). The services behind the gateway keep their plain
``/metrics``: they are never routed from outside.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.security import SecurityScopes
from starlette.responses import Response
from starlette.routing import Route, request_response

from contracts.scopes import OPS
from service_kit.auth import Principal, authenticate
from service_kit.errors import InterchangeError, NotFound

#: Client kinds whose token may read the metrics (with the ``ops`` scope).
OPERATOR_KINDS = frozenset({"internal"})


def guard_metrics(app: FastAPI) -> None:
    """Put the ops check in front of the kit's ``/metrics`` route (``create_service_app``)."""
    for route in app.router.routes:
        if isinstance(route, Route) and route.path == "/metrics":
            guarded = _operators_only(route.endpoint)
            route.endpoint = guarded
            route.app = request_response(guarded)
            return
    raise LookupError("the app has no /metrics route to guard")


def _operators_only(serve: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def guarded(request: Request) -> Response:
        await require_operator(request)
        return await serve(request)

    return guarded


async def require_operator(request: Request) -> Principal:
    """The operator, or NotFound unless the request carries a valid ``ops`` token of an internal client."""
    try:
        principal = await authenticate(request, SecurityScopes([OPS]))
    except InterchangeError:
        principal = None
    if principal is None or principal.kind not in OPERATOR_KINDS:
        raise NotFound("There is nothing at /metrics.")
    return principal


__all__ = ["OPERATOR_KINDS", "guard_metrics", "require_operator"]
