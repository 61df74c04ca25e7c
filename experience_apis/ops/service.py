"""The console's use cases: sign an operator in, find an order by any reference, tell its story
across the tiers, show the exception queue and replay a parked order (audited by the orders
service: who, when, why). Everything goes through the services' admin APIs (clients.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from contracts import Order
from contracts.scopes import OPS
from experience_apis.ops import timeline
from experience_apis.ops.clients import EventsAdmin, OrdersAdmin, StorefrontAdmin, issue_token
from experience_apis.ops.schemas import BusDeadLetter, DeadLetter, FoundOrder, OrderSearch, ParkedItem, TimelineEntry
from service_kit.auth import TokenVerifier
from service_kit.errors import Forbidden, UnprocessableContent

#: The longest reason a replay's audit keeps (the orders API's limit).
MAX_REASON = 300


@dataclass(frozen=True)
class Operator:
    """A signed-in person: their client id (the name the audit records) and their own token."""

    name: str
    token: str
    expires_at: float

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at

    def to_session(self) -> dict[str, Any]:
        return {"name": self.name, "token": self.token, "expires_at": self.expires_at}

    @classmethod
    def from_session(cls, data: object) -> Operator | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(name=str(data["name"]), token=str(data["token"]), expires_at=float(data["expires_at"]))
        except (KeyError, TypeError, ValueError):
            return None


async def sign_in(
    *, http: httpx.AsyncClient, verifier: TokenVerifier, token_url: str, client_id: str, client_secret: str
) -> Operator:
    """A token from the gateway for the operator's client; refused unless it carries ``ops``."""
    token = await issue_token(http, token_url=token_url, client_id=client_id, client_secret=client_secret)
    claims = await verifier.verify(token)
    if OPS not in str(claims.get("scope", "")).split():
        raise Forbidden(
            f"The client {client_id} has no '{OPS}' scope, so it cannot use the ops console; "
            "ask for an ops client (see docs/ops-console.md)."
        )
    return Operator(name=str(claims["client_id"]), token=token, expires_at=float(claims["exp"]))


async def search(*, orders: OrdersAdmin, reference: str, limit: int) -> OrderSearch:
    found = await orders.lookup(reference=reference.strip(), limit=limit)
    return OrderSearch(
        reference=found["reference"],
        items=[FoundOrder(order=Order.model_validate(m["order"]), matched_on=m["matched_on"]) for m in found["items"]],
    )


async def order_story(*, orders: OrdersAdmin, order_id: str) -> tuple[Order, list[TimelineEntry]]:
    raw = await orders.timeline(order_id=order_id)
    return Order.model_validate(raw["order"]), timeline.merge(raw)


async def exception_queue(*, orders: OrdersAdmin, limit: int) -> list[ParkedItem]:
    queue = await orders.exceptions(limit=limit)
    return [ParkedItem.model_validate(item) for item in queue["items"]]


def replay_reason(raw: str | None, *, what: str = "order") -> str:
    """Why the order (or message) is replayed: required, for the audit."""
    reason = (raw or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise UnprocessableContent(
            f"Say why the {what} is replayed (1 to {MAX_REASON} characters): the audit records it.",
            errors=[{"pointer": "/reason", "in": "body", "detail": "required, at most 300 characters"}],
        )
    return reason


async def replay(*, orders: OrdersAdmin, order_id: str, reason: str) -> dict[str, Any]:
    """Sends a parked order back to the orders worker from the step that failed. The orders service
    records the operator (the token's client), the time and the reason."""
    return await orders.replay(order_id=order_id, note=replay_reason(reason))


CREDIT_DECISIONS = ("approve", "reject")


async def review_credit(*, orders: OrdersAdmin, order_id: str, decision: str, reason: str) -> dict[str, Any]:
    """Approves (the order goes on to reserve stock) or rejects an order held over its credit
    limit; the orders service records who decided, when and why."""
    if decision not in CREDIT_DECISIONS:
        raise UnprocessableContent(
            "Approve or reject the order.",
            errors=[{"pointer": "/decision", "in": "body", "detail": "approve or reject"}],
        )
    return await orders.review_credit(order_id=order_id, decision=decision, note=replay_reason(reason))


async def dead_letters(*, storefront: StorefrontAdmin, limit: int) -> list[DeadLetter]:
    """The storefront's dead pushes (retries ran out, or no storefront item for the SKU), oldest first."""
    status = await storefront.sync_status(limit=limit)
    return [DeadLetter.model_validate(d) for d in status["dead_letters"]]


async def replay_dead_letter(*, storefront: StorefrontAdmin, sku: str, reason: str) -> dict[str, Any]:
    """Queues a dead push again; the storefront service records who, when and why."""
    return await storefront.replay(sku=sku, reason=replay_reason(reason))


def _bus_letter(answer: dict[str, Any]) -> BusDeadLetter:
    event = answer["event"]
    return BusDeadLetter(
        id=answer["id"],
        group=answer["group"],
        deliveries=answer["deliveries"],
        error=answer["error"],
        dead_at=answer["dead_at"],
        event_type=event.get("type", ""),
        event_id=event.get("id", ""),
        subject=event.get("subject"),
    )


async def bus_dead_letters(*, events: EventsAdmin, limit: int) -> list[BusDeadLetter]:
    """The event bus's parked messages, oldest first, with the group that failed on each and why."""
    return [_bus_letter(d) for d in await events.dead_letters(limit=limit)]


async def replay_bus_letter(*, events: EventsAdmin, dead_letter_id: str, reason: str) -> BusDeadLetter:
    """Hands a parked message back to its group only; the service logs who replayed it and why."""
    reason = replay_reason(reason, what="message")
    return _bus_letter(await events.replay(dead_letter_id=dead_letter_id, reason=reason))


__all__ = [
    "Operator",
    "bus_dead_letters",
    "dead_letters",
    "exception_queue",
    "order_story",
    "replay",
    "replay_bus_letter",
    "replay_dead_letter",
    "replay_reason",
    "review_credit",
    "search",
    "sign_in",
]
