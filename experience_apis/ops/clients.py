"""HTTP to the gateway's token endpoint and to the services' admin APIs, with the signed-in
operator's own token (never a token of the console's): each admin API checks its own scope, so an
operator can do in the console exactly what their client is granted.

Failures become the kit's errors: 401 -> ``SessionExpired`` (sign in again), 403 -> ``Forbidden``,
404 -> ``NotFound``, 409 -> ``Conflict``, 422 -> ``UnprocessableContent``, anything else or no
answer -> ``UpstreamUnavailable``; the upstream's own ``detail`` is kept (it says what to fix).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import httpx

from service_kit.correlation import outbound_trace_headers
from service_kit.errors import (
    Conflict,
    Forbidden,
    InterchangeError,
    NotFound,
    Unauthorized,
    UnprocessableContent,
    UpstreamUnavailable,
)


class SessionExpired(Unauthorized):
    """The operator's token is no longer accepted (expired or revoked): sign in again."""


class SignInRefused(Unauthorized):
    """The gateway did not issue a token for this client id and secret."""


_BY_STATUS: dict[int, type[InterchangeError]] = {
    401: SessionExpired,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: UnprocessableContent,
}


def _detail(resp: httpx.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    return str(body["detail"]) if isinstance(body, dict) and body.get("detail") else None


def _checked(resp: httpx.Response, service: str) -> Any:
    if resp.is_success:
        return resp.json()
    error = _BY_STATUS.get(resp.status_code)
    if error is None:
        raise UpstreamUnavailable(f"The {service} answered {resp.status_code}; try again in a moment.")
    raise error(_detail(resp))


async def issue_token(http: httpx.AsyncClient, *, token_url: str, client_id: str, client_secret: str) -> str:
    """A client-credentials token from the gateway for the operator's client, with all its scopes."""
    try:
        resp = await http.post(
            token_url,
            data={"grant_type": "client_credentials"},
            auth=(client_id, client_secret),
            headers=outbound_trace_headers(),
        )
    except httpx.TransportError as exc:
        raise UpstreamUnavailable("The gateway's token endpoint is unreachable; try again in a moment.") from exc
    if resp.status_code in (400, 401):
        raise SignInRefused("Unknown client id or wrong secret.")
    if resp.status_code != 200:
        raise UpstreamUnavailable(f"The gateway's token endpoint answered {resp.status_code}.")
    return str(resp.json()["access_token"])


class _AdminApi:
    """One service's admin API, called with the signed-in operator's own token: what the services
    refuse is told as they said it (``_checked``), an unreachable one as a 503 to try again."""

    prefix = "/v1"
    service = "a service"

    def __init__(self, http: httpx.AsyncClient, *, base_url: str, token: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/") + self.prefix
        self._token = token

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self._token}", **outbound_trace_headers(), **kwargs.pop("headers", {})}
        try:
            resp = await self._http.request(method, self._base + path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"The {self.service} is unreachable; try again in a moment.") from exc
        return _checked(resp, self.service)


class OrdersAdmin(_AdminApi):
    """The orders process's admin API (scope ``orders:admin``)."""

    prefix = "/v1/admin"
    service = "orders service"

    async def lookup(self, *, reference: str, limit: int) -> dict[str, Any]:
        return dict(await self._call("GET", "/orders/lookup", params={"reference": reference, "limit": limit}))

    async def timeline(self, *, order_id: str) -> dict[str, Any]:
        return dict(await self._call("GET", f"/orders/{quote(order_id, safe='')}/timeline"))

    async def exceptions(self, *, limit: int) -> dict[str, Any]:
        return dict(await self._call("GET", "/exceptions", params={"limit": limit}))

    async def review_credit(self, *, order_id: str, decision: str, note: str) -> dict[str, Any]:
        key = f"ops-credit-review-{uuid.uuid4()}"
        path = f"/orders/{quote(order_id, safe='')}/credit-review"
        body = {"decision": decision, "note": note}
        return dict(await self._call("POST", path, json=body, headers={"Idempotency-Key": key}))

    async def replay(self, *, order_id: str, note: str) -> dict[str, Any]:
        # A fresh key per press: a second press after the first succeeded is answered 409 (not parked).
        key = f"ops-replay-{uuid.uuid4()}"
        return dict(
            await self._call(
                "POST", f"/orders/{order_id}/replay", json={"note": note}, headers={"Idempotency-Key": key}
            )
        )


class InventoryAdmin(_AdminApi):
    """The inventory process's reconciliation (scope ``inventory:write``) and the stock history
    it keeps (``inventory:read``)."""

    service = "inventory service"

    async def reconcile(self, *, repair: bool) -> dict[str, Any]:
        return dict(await self._call("POST", "/reconciliations", json={"repair": repair}))

    async def sync_history(self, *, hours: int) -> dict[str, Any]:
        return dict(await self._call("GET", "/admin/sync-history", params={"hours": hours}))

    async def reconcile_history(self, *, hours: int) -> dict[str, Any]:
        return dict(await self._call("GET", "/admin/reconcile-history", params={"hours": hours}))


class StorefrontAdmin(_AdminApi):
    """The storefront service's push status and dead-letter replay (scope ``storefront:admin``)."""

    service = "storefront service"

    async def sync_status(self, *, limit: int) -> dict[str, Any]:
        return dict(await self._call("GET", "/sync-status", params={"limit": limit}))

    async def replay(self, *, sku: str, reason: str) -> dict[str, Any]:
        return dict(
            await self._call("POST", f"/inventory-pushes/{quote(sku, safe='')}/replay", json={"reason": reason})
        )


class EventsAdmin(_AdminApi):
    """The event bus's dead letters, through a consuming service's admin routes (an internal
    client's ``ops`` token): every service shares the bus, so one of them answers for all groups."""

    prefix = "/v1/admin/events"
    service = "event bus's admin API"

    async def dead_letters(self, *, limit: int) -> list[dict[str, Any]]:
        return list((await self._call("GET", "/dead-letters", params={"limit": limit}))["items"])

    async def replay(self, *, dead_letter_id: str, reason: str) -> dict[str, Any]:
        return dict(await self._call("POST", "/replays", json={"dead_letter_id": dead_letter_id, "reason": reason}))


async def scrape_metrics(http: httpx.AsyncClient, *, base_url: str, token: str) -> str | None:
    """A service's Prometheus metrics as text (the gateway's need an ops token); None when it does
    not answer."""
    try:
        resp = await http.get(
            base_url.rstrip("/") + "/metrics", headers={"Authorization": f"Bearer {token}", **outbound_trace_headers()}
        )
    except httpx.TransportError:
        return None
    return resp.text if resp.status_code == 200 else None


async def partner_health(
    http: httpx.AsyncClient, *, gateway_url: str, token: str, minutes: int, bucket_seconds: int
) -> dict[str, Any]:
    """The gateway's ``/admin/partner-health`` (its audit log, per partner and time bucket)."""
    try:
        resp = await http.get(
            gateway_url.rstrip("/") + "/admin/partner-health",
            params={"minutes": minutes, "bucket_seconds": bucket_seconds},
            headers={"Authorization": f"Bearer {token}", **outbound_trace_headers()},
        )
    except httpx.TransportError as exc:
        raise UpstreamUnavailable("The gateway is unreachable; try again in a moment.") from exc
    if resp.status_code == 404:  # what the gateway answers anyone but an internal client's ops token
        raise Forbidden("The gateway shows partner traffic to an internal client's ops token only.")
    return dict(_checked(resp, "gateway"))


__all__ = [
    "EventsAdmin",
    "InventoryAdmin",
    "OrdersAdmin",
    "SessionExpired",
    "SignInRefused",
    "issue_token",
    "partner_health",
    "scrape_metrics",
]
