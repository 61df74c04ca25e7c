"""The contract's policy, as proxy steps that run after ``authenticate`` (proxy.py).

    refuse_after_sunset   a version past its sunset answers 410 (versions.py)
    require_scopes        the operation's ``security: [{oauth2: [scopes]}]``: 403 naming the
                          scope the token lacks
    check_request_body    size cap (413), media type (415), JSON depth (400) and schema (422)
                          (bodies.py)

Everything they need was worked out at start-up (routing.py); per request they compare sets, read
a clock and, for a JSON body, parse and validate it with the schema compiled then.
"""

from __future__ import annotations

from collections.abc import Awaitable
from functools import lru_cache

from gateway.bodies import BodyPolicy, UnsupportedMediaType, check_json, media_type_of, read_capped, too_large
from gateway.proxy import Exchange, Step
from service_kit.errors import Forbidden, Gone, UnprocessableContent


def refuse_after_sunset() -> Step:
    def step(exchange: Exchange) -> None:
        versioning = exchange.route.versioning
        if versioning is not None and versioning.gone():
            route = exchange.route
            lifecycle = route.lifecycle
            sunset = lifecycle.sunset.isoformat() if lifecycle and lifecycle.sunset else "its sunset"
            successor = f" Use {lifecycle.successor} instead." if lifecycle and lifecycle.successor else ""
            raise Gone(f"/{route.api}/{route.version} was retired on {sunset}.{successor}")

    return step


def require_scopes() -> Step:
    def step(exchange: Exchange) -> None:
        needed = exchange.operation.scopes
        if not needed:
            return
        claims = exchange.claims or {}
        granted = _scope_set(claims.get("scope"))
        for option in needed:
            if option <= granted:
                return
        missing = " ".join(sorted(min(needed, key=lambda option: len(option - granted)) - granted))
        raise Forbidden(
            f"The access token lacks the scope this operation needs: {missing}.",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{missing}"'},
        )

    return step


def check_request_body(*, max_bytes: int, max_depth: int) -> Step:
    def step(exchange: Exchange) -> Awaitable[None] | None:
        if exchange.content_length is not None and exchange.content_length > max_bytes:
            raise too_large(max_bytes)  # before a byte of it is read
        policy = exchange.operation.body
        if not exchange.has_body:
            if policy is not None and policy.required:
                raise _body_required()
            return None
        if policy is None:
            return None  # not in the contract, not read: it streams up, capped (proxy.py)
        media_type = media_type_of(exchange.content_type)
        if not policy.accepts(media_type):
            accepted = ", ".join(sorted(policy.media_types))
            raise UnsupportedMediaType(
                f"This operation takes {accepted}, not {media_type or 'a body without Content-Type'}."
            )
        if policy.validator is None:
            return None
        return read_and_check(exchange, policy)

    async def read_and_check(exchange: Exchange, policy: BodyPolicy) -> None:
        body = exchange.body = await read_capped(exchange.receive, max_bytes, length=exchange.content_length)
        if not body:
            if policy.required:
                raise _body_required()
            return
        check_json(body, policy, max_depth=max_depth)

    return step


@lru_cache(maxsize=4096)
def _scope_set(scope: object) -> frozenset[str]:
    # Tokens of one client carry the same scope string: parse it once.
    return frozenset(scope.split()) if isinstance(scope, str) else frozenset()


def _body_required() -> UnprocessableContent:
    return UnprocessableContent(
        "This operation needs a request body.", errors=[{"pointer": "#", "in": "body", "detail": "Field required"}]
    )


__all__ = ["check_request_body", "refuse_after_sunset", "require_scopes"]
