"""Shipments to the storefront: ``shipment.confirmed`` of the storefront's orders -> a fulfilment
pushed to the shop's admin API (``POST /orders/{id}/fulfillments.json``, Shopify-like), once per
shipment.

The consumer (group ``storefront-fulfilments``) records one push row per shipment id, in the same
transaction as the kit's record of the event: a redelivered event or a second event for the same
shipment adds nothing. Another channel's shipment is ignored. The pusher sends due rows through the
paced ``StorefrontAdmin`` client on the same terms as the inventory pushes: a failure is retried on
``push_retry_schedule``, then the row is dead (kept with its last error); a 429 is waited out as its
``Retry-After`` says without counting as a failure.

A fulfilment is not idempotent at the shop, so a retry first reads the order's fulfilments and
takes one with the same tracking number as ours (an earlier attempt that landed but whose answer
was lost) instead of creating a second.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CloudEvent, ShipmentConfirmedV1
from experience_apis.storefront.client import StorefrontAdmin
from experience_apis.storefront.mapping import CHANNEL
from experience_apis.storefront.models import FulfilmentPush, FulfilmentReplayRecord, PushStatus
from experience_apis.storefront.schemas_fulfilments import FulfilmentPushList, FulfilmentPushRead, FulfilmentReplay
from service_kit.db import Database
from service_kit.errors import Conflict, InterchangeError, NotFound
from service_kit.events import event_data
from service_kit.events.consumer import EventHandler
from service_kit.http import UpstreamThrottled
from service_kit.workers import notify_after_commit, run_worker, wakeup_for

log = structlog.get_logger("experience_apis.storefront.fulfilments")
FULFILMENTS = "storefront_fulfilments"  # the fulfilment pusher's wake-up (service_kit.workers)
GROUP = "storefront-fulfilments"


def _now() -> datetime:
    return datetime.now(UTC)


def fulfilment_body(data: ShipmentConfirmedV1) -> dict[str, Any]:
    """The shipment in the shop's dialect (quantities are whole units there)."""
    return {
        "tracking_company": data.carrier,
        "tracking_number": data.tracking_number,
        "tracking_url": data.tracking_url,
        "line_items": [{"sku": line.sku, "quantity": int(Decimal(line.quantity))} for line in data.lines],
        "notify_customer": True,
    }


def shipment_handler(*, channel: str = CHANNEL) -> EventHandler:
    """Records a push for a shipment of ``channel``'s orders, once per shipment id."""

    async def on_shipment_confirmed(*, session: AsyncSession, event: CloudEvent) -> None:
        data = event_data(event=event, model=ShipmentConfirmedV1)
        if data.channel != channel:
            return
        if await session.get(FulfilmentPush, data.shipment_id) is not None:
            return  # this shipment is already recorded (pushed, pending or dead): never a second fulfilment
        now = _now()
        session.add(
            FulfilmentPush(
                shipment_id=data.shipment_id,
                storefront_order_id=data.channel_order_id,
                order_id=data.order_id,
                body=json.dumps(fulfilment_body(data)),
                status=PushStatus.pending,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        await session.flush()
        notify_after_commit(session=session, topic=FULFILMENTS)

    return on_shipment_confirmed


async def push_due(*, db: Database, admin: StorefrontAdmin, schedule: Sequence[float], batch: int = 20) -> int:
    """One pass: try every due fulfilment once. Returns how many were tried."""
    async with db.transaction() as session:
        stmt = (
            select(FulfilmentPush.shipment_id)
            .where(FulfilmentPush.status == PushStatus.pending, FulfilmentPush.next_attempt_at <= _now())
            .order_by(FulfilmentPush.next_attempt_at, FulfilmentPush.shipment_id)
            .limit(batch)
        )
        due = list((await session.scalars(stmt)).all())
    for shipment_id in due:
        await _push_one(db=db, admin=admin, shipment_id=shipment_id, schedule=schedule)
    return len(due)


async def _send(*, admin: StorefrontAdmin, order_id: str, body: dict[str, Any], retry: bool) -> int | None:
    if retry:  # an earlier attempt may have landed with its answer lost: take that one
        for existing in await admin.fulfillments(order_id=order_id):
            if existing.get("tracking_number") == body["tracking_number"]:
                found = existing.get("id")
                return found if isinstance(found, int) else None
    return await admin.create_fulfillment(order_id=order_id, fulfillment=body)


async def _push_one(*, db: Database, admin: StorefrontAdmin, shipment_id: str, schedule: Sequence[float]) -> None:
    async with db.transaction() as session:
        row = await session.get(FulfilmentPush, shipment_id, populate_existing=True)
        if row is None or row.status != PushStatus.pending:
            return
        order_id, body, retry = row.storefront_order_id, json.loads(row.body), bool(row.attempts or row.last_error)
    error: str | None = None
    wait: float | None = None
    fulfillment_id: int | None = None
    try:
        fulfillment_id = await _send(admin=admin, order_id=order_id, body=body, retry=retry)
    except UpstreamThrottled as exc:
        wait, error = exc.retry_after, exc.detail
    except InterchangeError as exc:
        error = f"{type(exc).__name__}: {exc.detail}"
    async with db.transaction() as session:
        row = await session.get(FulfilmentPush, shipment_id, populate_existing=True)
        if row is None:
            return
        now = _now()
        if error is None:
            row.status, row.pushed_at, row.last_error, row.fulfillment_id = PushStatus.synced, now, None, fulfillment_id
            return
        row.last_error = error
        if wait is not None:
            row.next_attempt_at = now + timedelta(seconds=wait)
            return
        row.attempts += 1
        if row.attempts <= len(schedule):
            row.next_attempt_at = now + timedelta(seconds=schedule[row.attempts - 1])
        else:
            row.status = PushStatus.dead
            log.warning("storefront_fulfilment_dead", shipment_id=shipment_id, attempts=row.attempts, error=error)


async def run_pusher(
    *,
    db: Database,
    admin: StorefrontAdmin,
    schedule: Sequence[float],
    poll_seconds: float,
    max_idle_seconds: float,
    stop_event: asyncio.Event | None = None,
) -> None:
    """Push fulfilments until ``stop_event`` is set: woken by the commit of a new shipment, and idle
    it looks again after ``poll_seconds`` doubling up to ``max_idle_seconds`` (retries falling due)."""

    async def push_once() -> int:
        return await push_due(db=db, admin=admin, schedule=schedule)

    await run_worker(
        "storefront_fulfilment_pusher",
        push_once,
        wakeup=wakeup_for(db=db, topic=FULFILMENTS),
        stop_event=stop_event or asyncio.Event(),
        idle_backoff=(poll_seconds, max(poll_seconds, max_idle_seconds)),
    )


def _read(row: FulfilmentPush) -> FulfilmentPushRead:
    return FulfilmentPushRead(
        shipment_id=row.shipment_id,
        storefront_order_id=row.storefront_order_id,
        order_id=row.order_id,
        status=PushStatus(row.status).value,
        attempts=row.attempts,
        last_error=row.last_error,
        fulfillment=json.loads(row.body),
        fulfillment_id=row.fulfillment_id,
        created_at=row.created_at,
        pushed_at=row.pushed_at,
    )


async def list_pushes(*, session: AsyncSession, status: PushStatus | None, limit: int) -> FulfilmentPushList:
    stmt = select(FulfilmentPush).order_by(FulfilmentPush.created_at, FulfilmentPush.shipment_id).limit(limit)
    if status is not None:
        stmt = stmt.where(FulfilmentPush.status == status)
    return FulfilmentPushList(items=[_read(row) for row in (await session.scalars(stmt)).all()])


async def replay(*, session: AsyncSession, shipment_id: str, actor: str, reason: str | None) -> FulfilmentReplay:
    """Queues a dead fulfilment again; audited (who, when, why) in the same transaction."""
    row = await session.get(FulfilmentPush, shipment_id, populate_existing=True)
    if row is None:
        raise NotFound(f"No fulfilment push for shipment {shipment_id!r}: GET /v1/fulfilment-pushes lists them.")
    if row.status != PushStatus.dead:
        raise Conflict(f"The fulfilment push of shipment {shipment_id!r} is {row.status}; only dead ones are replayed.")
    now = _now()
    row.status, row.attempts, row.next_attempt_at = PushStatus.pending, 0, now
    session.add(FulfilmentReplayRecord(shipment_id=shipment_id, actor=actor, reason=reason, requested_at=now))
    await session.flush()
    notify_after_commit(session=session, topic=FULFILMENTS)
    return FulfilmentReplay(shipment_id=shipment_id, replayed_by=actor, reason=reason, requested_at=now)
