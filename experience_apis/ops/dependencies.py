"""Request-scoped pieces the routes share: the orders admin client with the caller's own token."""

from __future__ import annotations

from fastapi import Request

from experience_apis.ops.clients import OrdersAdmin
from experience_apis.ops.settings import OpsSettings


def settings_of(request: Request) -> OpsSettings:
    settings: OpsSettings = request.app.state.settings
    return settings


def orders_admin(request: Request, token: str) -> OrdersAdmin:
    """The orders admin API, called with ``token`` (the operator's, never the console's own)."""
    return OrdersAdmin(request.app.state.http, base_url=settings_of(request).orders_url, token=token)


def bearer_token(request: Request) -> str:
    """The caller's bearer token (the route has already verified it)."""
    return request.headers.get("authorization", "").partition(" ")[2].strip()


__all__ = ["bearer_token", "orders_admin", "settings_of"]
