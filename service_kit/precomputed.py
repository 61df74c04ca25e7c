"""Routes whose per-request work is worked out once: the hot reads and intake, served ahead of
FastAPI's routing.

A route is declared as usual (path, response model, dependencies, scopes: the contract is built
from it as from any other) and marked with ``@precomputed`` under its ``@router.get(...)`` or
``@router.post(...)``::

    @router.get("/orders/{order_id}", operation_id="getOrder", ...)
    @precomputed
    async def get_order(order_id: OrderId, principal: OrdersRead, conn: ReadConnDep) -> Order: ...

``PrecomputedRoutes`` (a plain ASGI middleware the app factory puts inside the correlation and
metrics middleware) compiles each marked route once, on the first request: its effective
dependencies (the router's included) become a tree of plain calls, with each node's parameters,
scopes and cache key known up front. A request for such a route is then served without FastAPI's
per-request work: its exception and exit-stack middleware, the walk of the routing tree, the
request/response wrapper and the dependency solver, which re-derives on every request what this
works out once (a third of a status read's CPU in both services, bench/gateway.py).

Same behaviour as FastAPI for the routes it takes: parameters are validated by FastAPI's own
``request_params_to_args`` (the same 422 and error locations), a dependency whose parameters
fail is not called, a dependency used twice with the same scopes runs once, the session and read
connection close on the endpoint's exit stack before the response is sent, the response model
serialises the answer as FastAPI does (``serialize_response``), and an exception goes to the app's
own handlers (problem+json). Hand-written, because FastAPI has no public way to skip its solver
while the route stays in the contract; it takes only what it can serve exactly as FastAPI would:
GET and POST routes whose dependencies are ``async def`` functions or callables taking path,
query and header parameters, the request, the ``Response`` (its status and headers go on the
answer), and security scopes; the endpoint may take one JSON body, a pydantic model, validated
from the bytes (``precomputed_params.JsonBody``: FastAPI's content-type rule, its 422 for bad JSON
and a missing body, its own errors for an invalid one). A route with anything else (a form or
embedded body, a ``yield`` dependency, cookies, a ``BackgroundTasks`` parameter), a route an
earlier route could shadow, and any request while ``app.dependency_overrides`` is set (tests) are
left to FastAPI, unchanged.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from fastapi import FastAPI
from fastapi._compat import Undefined
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import RouteContext, iter_route_contexts, serialize_response
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase
from fastapi.utils import is_body_allowed_for_status_code
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from service_kit.precomputed_params import JsonBody, Params, Received, Unsupported

log = structlog.get_logger("service_kit.precomputed")

F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__interchange_precomputed__"
_FAILED = object()  # a dependency not called because its parameters (or its own) failed validation


def precomputed(endpoint: F) -> F:
    """Mark a route's endpoint to be served by ``PrecomputedRoutes``; the function is unchanged,
    so FastAPI builds the route and its contract from it as before."""
    setattr(endpoint, _MARK, True)
    return endpoint


@dataclass(eq=False)
class _Node:
    """One dependency (or the endpoint): what to call and where each argument comes from."""

    call: Callable[..., Any]
    name: str | None
    path: Params
    query: Params
    headers: Params
    body: JsonBody | None  # the endpoint's only
    request_name: str | None
    response_name: str | None
    scopes_name: str | None
    scopes: SecurityScopes
    children: Sequence[_Node]
    cache_key: tuple[Any, ...] | None


@dataclass(eq=False)
class _Plan:
    route: Any  # the route as FastAPI registered it (the metrics' template comes from its path)
    path_regex: re.Pattern[str]
    convertors: dict[str, Any]
    shadows: Sequence[re.Pattern[str]]  # earlier routes for the same method: if one matches, FastAPI serves
    body: JsonBody | None
    endpoint: _Node
    takes_response: bool  # some node has a ``Response`` parameter
    status_code: int | None
    response_field: Any
    response_options: dict[str, Any] = field(default_factory=dict)


def _compile_node(dependant: Dependant, body: JsonBody | None = None) -> _Node:
    call = dependant.call
    if call is None:
        raise Unsupported("a dependency without a callable")
    if dependant.cookie_params:
        raise Unsupported("a cookie parameter")
    if dependant.body_params and (body is None or dependant.body_params != [body.field]):
        raise Unsupported("a body parameter of a dependency")
    if dependant.background_tasks_param_name:
        raise Unsupported("a BackgroundTasks parameter")
    if dependant.websocket_param_name or dependant.http_connection_param_name:
        raise Unsupported("a WebSocket or HTTPConnection parameter")
    if getattr(dependant, "concurrency", None) is not None:
        raise Unsupported("a dependency with a concurrency limit")
    function = call if inspect.isroutine(call) else getattr(call, "__call__", None)  # noqa: B004
    if not inspect.iscoroutinefunction(function):
        raise Unsupported(f"{getattr(call, '__name__', call)!r} is not an async def (FastAPI would use a thread)")
    scopes = list(dependant.parent_oauth_scopes or [])
    scopes += [s for s in dependant.own_oauth_scopes or [] if s not in scopes]
    children = [_compile_node(sub) for sub in dependant.dependencies]
    # FastAPI's cache key: the scopes count only for a dependency that uses them.
    scoped = _uses_scopes(dependant)
    return _Node(
        call=call,
        name=dependant.name,
        path=Params(dependant.path_params),
        query=Params(dependant.query_params),
        headers=Params(dependant.header_params),
        body=body,
        request_name=dependant.request_param_name,
        response_name=dependant.response_param_name,
        scopes_name=dependant.security_scopes_param_name,
        scopes=SecurityScopes(scopes=scopes),
        children=children,
        cache_key=(call, tuple(sorted(set(scopes))) if scoped else ()) if dependant.use_cache else None,
    )


def _takes_response(dependant: Dependant) -> bool:
    return bool(dependant.response_param_name) or any(_takes_response(sub) for sub in dependant.dependencies)


def _uses_scopes(dependant: Dependant) -> bool:
    return bool(
        dependant.own_oauth_scopes
        or dependant.security_scopes_param_name
        or isinstance(dependant.call, SecurityBase)
        or any(_uses_scopes(sub) for sub in dependant.dependencies)
    )


def _compile(context: RouteContext, earlier: Sequence[RouteContext]) -> _Plan:
    methods = context.methods or set()
    if methods not in ({"GET"}, {"POST"}):
        raise Unsupported("only GET and POST routes")
    (method,) = methods
    if not isinstance(context.response_class, DefaultPlaceholder):
        raise Unsupported("a response class of its own")
    if getattr(context, "is_sse_stream", False) or getattr(context, "is_json_stream", False):
        raise Unsupported("a streaming route")
    shadows = []
    for other in earlier:
        regex = getattr(other, "path_regex", None)
        other_methods = getattr(other, "methods", None)
        if regex is None:
            raise Unsupported(f"an earlier route ({other!r}) that is not a plain path")
        if other_methods is None or method in other_methods:
            shadows.append(regex)
    dependant = context.dependant
    body = JsonBody.of(dependant, context.original_route) if dependant.body_params else None
    return _Plan(
        route=context.original_route,
        path_regex=context.path_regex,
        convertors=context.param_convertors,
        shadows=shadows,
        body=body,
        endpoint=_compile_node(dependant, body),
        takes_response=_takes_response(dependant),
        status_code=context.status_code,
        response_field=context.response_field,
        response_options={
            "include": context.response_model_include,
            "exclude": context.response_model_exclude,
            "by_alias": context.response_model_by_alias,
            "exclude_unset": context.response_model_exclude_unset,
            "exclude_defaults": context.response_model_exclude_defaults,
            "exclude_none": context.response_model_exclude_none,
        },
    )


def compile_routes(app: FastAPI) -> dict[str, list[_Plan]]:
    """The plans of the app's marked routes by method, in routing order (an unsupported one is
    logged and left to FastAPI)."""
    plans: dict[str, list[_Plan]] = {}
    contexts = list(iter_route_contexts(app.router.routes))
    for index, context in enumerate(contexts):
        if not getattr(getattr(context, "endpoint", None), _MARK, False):
            continue
        try:
            plan = _compile(context, contexts[:index])
        except Unsupported as exc:
            log.warning("route_not_precomputed", path=context.path, reason=str(exc))
        else:
            plans.setdefault(next(iter(context.methods or ())), []).append(plan)
    return plans


@dataclass(eq=False, slots=True)
class _Call:
    """One request's solving: what its dependencies share."""

    request: Request
    received: Received | None  # the body as read, for a route with one
    response: Response | None  # the ``Response`` parameter's (its status and headers go on the answer)
    cache: dict[Any, Any] = field(default_factory=dict)
    errors: list[Any] = field(default_factory=list)


def _sub_response() -> Response:
    """FastAPI's: no content-length and no status until a dependency or the endpoint sets one."""
    response = Response()
    del response.headers["content-length"]
    response.status_code = None  # type: ignore[assignment]
    return response


async def _solve(node: _Node, call: _Call) -> Any:
    """The node's value, or ``_FAILED`` when its parameters (or a dependency's) did not validate."""
    key = node.cache_key
    cache, request, errors = call.cache, call.request, call.errors
    if key is not None and key in cache:
        return cache[key]
    kwargs: dict[str, Any] = {}
    failed = False
    for child in node.children:
        value = await _solve(child, call)
        if value is _FAILED:
            failed = True
        elif child.name is not None:
            kwargs[child.name] = value
    if node.path and node.path.validate(request.path_params, kwargs, errors):
        failed = True
    if node.query and node.query.validate(request.query_params, kwargs, errors):
        failed = True
    if node.headers and node.headers.validate(request.headers, kwargs, errors):
        failed = True
    if node.body is not None and call.received is not None:
        failed = await node.body.validate(call.received, kwargs, errors) or failed
    if failed:
        return _FAILED
    if node.request_name is not None:
        kwargs[node.request_name] = request
    if node.response_name is not None:
        kwargs[node.response_name] = call.response
    if node.scopes_name is not None:
        kwargs[node.scopes_name] = node.scopes
    value = await node.call(**kwargs)
    if key is not None:
        cache[key] = value
    return value


class PrecomputedRoutes:
    """Serves the app's ``@precomputed`` routes (module docstring); everything else goes on to
    FastAPI. Put it inside the middleware that every response must pass (correlation ids,
    metrics, access log, deprecation headers): it replaces only what lies between them and the
    endpoint."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._plans: dict[str, list[_Plan]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "POST"):
            await self.app(scope, receive, send)
            return
        fastapi_app: FastAPI = scope["app"]
        by_method = self._plans
        if by_method is None:
            by_method = self._plans = compile_routes(fastapi_app)
        plans = by_method.get(scope["method"])
        if not plans or fastapi_app.dependency_overrides:
            await self.app(scope, receive, send)
            return
        path = get_route_path(scope)
        for plan in plans:
            match = plan.path_regex.match(path)
            if match is not None:
                if any(shadow.match(path) for shadow in plan.shadows):
                    break
                await self._serve(plan, match, fastapi_app, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _serve(
        self, plan: _Plan, match: re.Match[str], app: FastAPI, scope: Scope, receive: Receive, send: Send
    ) -> None:
        convertors = plan.convertors
        scope["path_params"] = {name: convertors[name].convert(value) for name, value in match.groupdict().items()}
        scope["route"] = plan.route
        scope["endpoint"] = plan.endpoint.call
        request = Request(scope, receive, send)
        try:
            response = await _respond(plan, request, scope)
        except Exception as exc:
            handler = _handler_for(app, exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)


async def _respond(plan: _Plan, request: Request, scope: Scope) -> Response:
    # The body is read first, as FastAPI does: bad JSON is a 422 before any dependency runs.
    received = await plan.body.read(request) if plan.body is not None else None
    call = _Call(request, received, _sub_response() if plan.takes_response else None)
    # The endpoint's exit stack, as FastAPI's: the session and read connection close on it when the
    # endpoint returns or raises, before the response is sent (service_kit.db).
    async with AsyncExitStack() as stack:
        scope["fastapi_function_astack"] = stack
        raw = await _solve(plan.endpoint, call)
    if call.errors:
        body = None if received is None or received.valid is not None else received.raw
        raise RequestValidationError(call.errors, body=None if body is Undefined else body)
    if isinstance(raw, Response):
        return raw
    field = plan.response_field
    content = await serialize_response(
        field=field, response_content=raw, dump_json=field is not None, **plan.response_options
    )
    # FastAPI's order: a status a dependency or the endpoint set on its Response wins.
    sub = call.response
    status = (sub.status_code if sub is not None else None) or plan.status_code or 200
    if field is not None:  # FastAPI's fast path: pydantic wrote the JSON bytes
        response: Response = Response(content=content, media_type="application/json", status_code=status)
    else:
        response = JSONResponse(content, status_code=status)
    if not is_body_allowed_for_status_code(status):
        response.body = b""
    if sub is not None:
        response.headers.raw.extend(sub.headers.raw)
    return response


def _handler_for(app: FastAPI, exc: Exception) -> Callable[..., Any] | None:
    """The app's handler for ``exc``, looked up as Starlette's exception middleware does (by status
    code for an HTTPException, then by class); ``Exception`` itself is the server error handler's,
    outside, so it is not used here."""
    handlers = app.exception_handlers
    if isinstance(exc, HTTPException) and exc.status_code in handlers:
        return handlers[exc.status_code]
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None


__all__ = ["PrecomputedRoutes", "Unsupported", "compile_routes", "precomputed"]
