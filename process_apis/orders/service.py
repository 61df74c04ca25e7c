"""Order intake (synchronous validation, then recording) and reads, in business terms.

Intake stores nothing unless the order passes validation; the order, its lines, its first
history entry and the idempotent answer commit together in the request's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import CustomerStatus, Order, OrderAccepted, OrderCreate, OrderStatus, ProductStatus
from process_apis.orders import lifecycle, repository
from process_apis.orders.clients import ErpClient
from process_apis.orders.models import OrderLineRow, OrderRow, SagaStep
from process_apis.orders.schemas import OrderList
from service_kit.correlation import current_correlation_id
from service_kit.errors import BusinessRuleViolation, Conflict, NotFound
from service_kit.idempotency import Idempotency

ACCEPTED = 202


@dataclass(frozen=True)
class Receipt:
    """The intake answer; ``created`` is False when it replays an earlier one."""

    status_code: int
    accepted: OrderAccepted
    created: bool


def new_order_id() -> str:
    return f"ord_{uuid.uuid4().hex}"


def status_url(order_id: str) -> str:
    return f"/v1/orders/{order_id}"


async def receive_order(
    *, session: AsyncSession, idem: Idempotency, erp: ErpClient, order: OrderCreate, partner_id: str | None
) -> Receipt:
    replay = await idem.start()
    if replay is not None:
        return Receipt(replay.status_code, OrderAccepted.model_validate(replay.body), created=False)
    existing = await repository.find_by_natural_key(
        session, channel=order.channel, partner_id=partner_id, channel_order_id=order.channel_order_id
    )
    if existing is not None:
        raise _duplicate(order, existing.id)
    await check_order(erp=erp, order=order)
    row = _new_row(order, partner_id=partner_id)
    try:
        await lifecycle.record_received(session, order=row, correlation_id=row.correlation_id, at=row.created_at)
    except IntegrityError:
        # Another request with the same natural key committed between our check and our insert.
        winner = await repository.find_committed_by_natural_key(
            session, channel=order.channel, partner_id=partner_id, channel_order_id=order.channel_order_id
        )
        raise _duplicate(order, winner.id if winner else None) from None
    accepted = OrderAccepted(id=row.id, status=OrderStatus.received, status_url=status_url(row.id))
    await idem.finish(session, status_code=ACCEPTED, body=accepted.model_dump(mode="json"))
    return Receipt(ACCEPTED, accepted, created=True)


def _duplicate(order: OrderCreate, existing_id: str | None) -> Conflict:
    which = f" as {existing_id}" if existing_id else ""
    return Conflict(
        f"Order {order.channel_order_id} of channel {order.channel} was already received{which}; "
        "follow that order instead of submitting it again.",
        existing_order_id=existing_id,
    )


async def check_order(*, erp: ErpClient, order: OrderCreate) -> None:
    """Customer known and active, currency the customer's, every SKU known and active. All
    problems are reported at once, each with the JSON pointer of the field to fix."""
    errors: list[dict[str, Any]] = []
    customer = await erp.get_customer(order.customer_id)
    if customer is None:
        errors.append(_error("#/customer_id", f"unknown customer {order.customer_id}"))
    elif customer.status is not CustomerStatus.active:
        errors.append(_error("#/customer_id", f"customer {customer.id} is inactive"))
    elif customer.currency != order.currency:
        errors.append(
            _error("#/currency", f"currency {order.currency} is not customer {customer.id}'s ({customer.currency})")
        )
    products = await erp.find_items([line.sku for line in order.lines])
    for index, line in enumerate(order.lines):
        product = products.get(line.sku)
        if product is None:
            errors.append(_error(f"#/lines/{index}/sku", f"unknown SKU {line.sku}"))
        elif product.status is not ProductStatus.active:
            errors.append(_error(f"#/lines/{index}/sku", f"SKU {line.sku} is {product.status.value}"))
    if errors:
        summary = "; ".join(e["detail"] for e in errors)
        raise BusinessRuleViolation(f"The order cannot be accepted: {summary}.", errors=errors)


def _error(pointer: str, detail: str) -> dict[str, str]:
    return {"pointer": pointer, "in": "body", "detail": detail}


def _new_row(order: OrderCreate, *, partner_id: str | None) -> OrderRow:
    now = datetime.now(UTC)
    order_id = new_order_id()
    return OrderRow(
        id=order_id,
        channel=order.channel,
        channel_order_id=order.channel_order_id,
        partner_id=partner_id or "",
        customer_id=order.customer_id,
        currency=order.currency,
        ship_to=order.ship_to.model_dump(mode="json") if order.ship_to else None,
        saga_step=SagaStep.price_order.value,
        attempts=0,
        correlation_id=current_correlation_id(),
        created_at=now,
        updated_at=now,
        lines=[
            OrderLineRow(
                order_id=order_id, line_no=number, sku=line.sku, quantity=line.quantity.value, unit=line.quantity.unit
            )
            for number, line in enumerate(order.lines, start=1)
        ],
    )


async def get_order(*, session: AsyncSession, order_id: str, partner_id: str | None) -> Order:
    """An order as its owner sees it; another partner's order does not exist for the caller."""
    row = await repository.get_order(session, order_id=order_id)
    if row is None or (partner_id is not None and row.partner_id != partner_id):
        raise NotFound(f"No order {order_id}.")
    return repository.to_order(row)


async def list_orders(
    *,
    session: AsyncSession,
    partner_id: str | None,
    channel: str | None,
    channel_order_id: str | None,
    status: OrderStatus | None,
    limit: int,
    offset: int,
) -> OrderList:
    rows = await repository.list_orders(
        session,
        partner_id=partner_id,
        channel=channel,
        channel_order_id=channel_order_id,
        status=status,
        limit=limit,
        offset=offset,
    )
    return OrderList(items=[repository.to_order(row) for row in rows])


__all__ = ["Receipt", "check_order", "get_order", "list_orders", "receive_order", "status_url"]
