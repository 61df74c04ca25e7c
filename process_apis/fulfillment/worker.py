"""The fulfilment workers: the saga passes (released orders, shipments, returns on the kit's
runtime, ``service_kit.saga``), woken by any commit that makes saga work (``SAGA_TOPIC``) or
every ``worker_poll_interval``; and the event consumers that turn the orders process's and the
WMS's events into saga rows (idempotent: the kit records each event once per group, and a row
that exists already is left alone).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, cast

import structlog
from fastapi import FastAPI
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CloudEvent
from contracts.events.fulfillment import WarehouseReturnReceivedV1, WarehouseShippedV1
from contracts.events.order_progress import OrderCancelledV1, OrderReleasedV1
from contracts.fulfillment import ReturnReceiptCreate
from process_apis.fulfillment import repository, returns, service, steps
from process_apis.fulfillment.clients import FulfillmentClients, clients_for
from process_apis.fulfillment.models import ReleasedOrderRow, ShipmentRow, ShipmentStep
from process_apis.fulfillment.saga import Saga, advance, now_utc, park
from process_apis.fulfillment.settings import FulfillmentSettings
from service_kit.db import Database
from service_kit.errors import InterchangeError
from service_kit.events.envelopes import event_data
from service_kit.events.workers import event_consumer
from service_kit.saga.claims import claim_due, release_claims
from service_kit.saga.injection import hook_for
from service_kit.saga.passes import SagaPass
from service_kit.saga.retry import RetryPolicy
from service_kit.workers import Wakeup, notify_after_commit, run_worker, stop_event, wakeup_for

log = structlog.get_logger("process_apis.fulfillment.worker")


def worker_id(settings: FulfillmentSettings) -> str:
    return settings.worker_id or f"{socket.gethostname()}:{settings.port}"


def sagas(settings: FulfillmentSettings) -> list[Saga]:
    armed = settings.injection_point
    return [
        steps.released_order_saga(partners=dict(settings.warehouse_partners)),
        steps.shipment_saga(invoice_answered=hook_for(armed, "invoice_answered")),
        steps.return_saga(credit_memo_answered=hook_for(armed, "credit_memo_answered")),
    ]


def install_worker_state(app: FastAPI) -> None:
    app.state.fulfillment_sagas = sagas(app.state.settings)
    app.state.fulfillment_in_flight = set()


async def release_own_claims(app: FastAPI) -> None:
    """Start-up hook: rows this worker claimed before it died are due again now."""
    me = worker_id(app.state.settings)
    async with app.state.db.transaction() as session:
        released = 0
        for saga in app.state.fulfillment_sagas:
            released += await release_claims(session, table=cast(Table, saga.model.__table__), worker_id=me)
    if released:
        log.info("saga_claims_released", count=released)


async def process_pending(app: FastAPI) -> int:
    """One pass over every saga's due rows (tests drive it directly); returns how many were claimed."""
    settings: FulfillmentSettings = app.state.settings
    db: Database = app.state.db
    policy = RetryPolicy(
        initial=settings.retry_backoff_initial,
        maximum=settings.retry_backoff_max,
        max_attempts=settings.retry_max_attempts,
    )
    lease = timedelta(seconds=settings.worker_claim_lease)
    me = worker_id(settings)
    make: Callable[[str | None], FulfillmentClients] = getattr(app.state, "fulfillment_clients", None) or (
        lambda correlation_id: clients_for(app, correlation_id=correlation_id)
    )
    claimed = 0
    for saga in app.state.fulfillment_sagas:
        table = cast(Table, saga.model.__table__)

        async def claim(limit: int, skip: Sequence[str], table: Table = table) -> list[tuple[str, None]]:
            at = now_utc()
            async with db.engine.begin() as connection:
                ids = await claim_due(
                    connection, table=table, now=at, lease_until=at + lease, worker_id=me, limit=limit, skip=skip
                )
            return [(row_id, None) for row_id in ids]

        async def run(row_id: str, _: None, saga: Saga = saga) -> bool:
            return await advance(db=db, saga=saga, row_id=row_id, clients=make, policy=policy)

        result = await SagaPass(
            claim=claim,
            advance=run,
            concurrency=settings.worker_concurrency,
            batch_size=settings.worker_batch_size,
            poll=settings.worker_poll_interval,
            stopping=stop_event(app),
            in_flight=app.state.fulfillment_in_flight,
            name=saga.kind,
        ).run()
        claimed += result.claimed
    return claimed


async def run_saga_worker(app: FastAPI) -> None:
    """The ``workers=[...]`` hook: passes until the service stops."""
    settings: FulfillmentSettings = app.state.settings
    if not settings.worker_enabled:
        return
    poll = max(settings.worker_poll_interval, 0.01)
    wakeup: Wakeup = wakeup_for(db=app.state.db, topic=service.SAGA_TOPIC)

    async def one_pass() -> int:
        return await process_pending(app)

    await run_worker("fulfillment_saga", one_pass, wakeup=wakeup, stop_event=stop_event(app), idle_backoff=(poll, poll))


# -- events in ---------------------------------------------------------------------------------


async def on_order_released(*, session: AsyncSession, event: CloudEvent) -> None:
    """An order went to its warehouse(s): its saga reads it and asks its 3PL partners to ship."""
    data = event_data(event=event, model=OrderReleasedV1)
    if await repository.get_released_order(session, order_id=data.order_id) is not None:
        return
    session.add(
        ReleasedOrderRow(
            id=data.order_id,
            channel=data.channel,
            channel_order_id=data.channel_order_id,
            partner_id=data.partner,
            erp_order_number=data.erp_order_number,
            lines=[],
            saga_step="request_fulfilment",
            saga_active=True,
            attempts=0,
            correlation_id=event.correlationid or "",
            created_at=now_utc(),
        )
    )
    notify_after_commit(session=session, topic=service.SAGA_TOPIC)


async def on_order_cancelled(*, session: AsyncSession, event: CloudEvent) -> None:
    """Cancelled after its release: its open fulfilment requests are cancelled too."""
    data = event_data(event=event, model=OrderCancelledV1)
    order = await repository.get_released_order(session, order_id=data.order_id)
    if order is not None:
        order.cancelled = True
    for request in await repository.requests_of(session, order_id=data.order_id):
        if request.status == "open":
            request.status = "cancelled"


async def on_warehouse_shipped(*, session: AsyncSession, event: CloudEvent) -> None:
    """The WMS shipped from a warehouse it operates: the saga goes on from the invoice."""
    data = event_data(event=event, model=WarehouseShippedV1)
    known = await repository.get_shipment(session, shipment_id=data.shipment_id)
    if known is not None:
        # A 3PL's shipment is recorded in the WMS with publish_event=false, and a partner's ids are
        # namespaced by the partner (``<partner>:<ASN>``) by the API it posts through: an event for a
        # partner-posted id is the WMS's own shipment under a clashing id, not this one; it cannot be
        # kept under that id, so it is said loudly instead of passing as "ours".
        if known.partner_id is not None:
            log.error(
                "warehouse_shipment_id_taken",
                shipment_id=data.shipment_id,
                reference=data.reference,
                taken_by=known.partner_id,
            )
        return  # this event again (or the WMS step of a shipment posted here without a partner)
    session.add(
        ShipmentRow(
            id=data.shipment_id,
            order_id=data.reference,
            warehouse=data.warehouse,
            carrier=data.carrier,
            tracking_number=data.tracking_number,
            shipped_at=data.shipped_at,
            lines=[
                {"line_no": ln.line_no, "sku": ln.sku, "quantity": {"value": ln.quantity, "unit": ln.unit}}
                for ln in data.lines
            ],
            status="recorded",
            wms_recorded=True,
            saga_step=ShipmentStep.check_order.value,
            saga_active=True,
            attempts=0,
            correlation_id=event.correlationid or "",
            created_at=now_utc(),
        )
    )
    notify_after_commit(session=session, topic=service.SAGA_TOPIC)


async def on_return_received(*, session: AsyncSession, event: CloudEvent) -> None:
    """The WMS received returned goods: credited when the return was authorised, else parked."""
    data = event_data(event=event, model=WarehouseReturnReceivedV1)
    authorised = await repository.get_return(session, return_id=data.return_id)
    # The WMS knows no order lines (line_no null): each SKU is the return's line of that SKU.
    line_of: dict[str, int] = {}
    for line in authorised.lines if authorised is not None else []:
        line_of.setdefault(line["sku"], int(line["line_no"]))
    receipt: dict[str, Any] = {
        "warehouse": data.warehouse,
        "received_at": data.received_at,
        "lines": [
            {
                "line_no": ln.line_no or line_of.get(ln.sku, 1),
                "sku": ln.sku,
                "quantity": {"value": ln.quantity, "unit": ln.unit},
                "condition": ln.condition,
            }
            for ln in data.lines
        ],
    }
    try:
        await returns.receive_return(
            session=session,
            return_id=data.return_id,
            body=ReturnReceiptCreate.model_validate(receipt),
            partner_id=None,
            wms_recorded=True,
        )
    except InterchangeError as refused:
        row = await repository.get_return(session, return_id=data.return_id)
        if row is not None and row.status == "authorised":
            await park(
                session,
                row,
                step="receive_in_wms",
                reason=f"the WMS received goods this return does not allow: {refused.detail}",
            )
        else:
            log.warning("return_receipt_ignored", return_id=data.return_id, reason=refused.detail)


def order_events() -> Any:
    return event_consumer(
        group="fulfillment-orders",
        handlers={OrderReleasedV1.event_type: on_order_released, OrderCancelledV1.event_type: on_order_cancelled},
    )


def warehouse_events() -> Any:
    return event_consumer(
        group="fulfillment-warehouse",
        handlers={
            WarehouseShippedV1.event_type: on_warehouse_shipped,
            WarehouseReturnReceivedV1.event_type: on_return_received,
        },
    )


__all__ = [
    "install_worker_state",
    "on_order_cancelled",
    "on_order_released",
    "on_return_received",
    "on_warehouse_shipped",
    "order_events",
    "process_pending",
    "release_own_claims",
    "run_saga_worker",
    "sagas",
    "warehouse_events",
    "worker_id",
]
