"""Order intake's validation, reads and cancellation, in business terms. Recording an order is
``process_apis.orders.intake`` (the order, its lines, its first history entry and the idempotent
answer in one transaction)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from contracts import CustomerStatus, Order, OrderCreate, OrderStatus, ProductStatus
from process_apis.orders import repository
from process_apis.orders.masterdata import CachedErp
from process_apis.orders.reasons import as_partner_sees_it
from process_apis.orders.schemas import CancelAccepted, OrderList
from service_kit.errors import BusinessRuleViolation, Conflict, NotFound
from service_kit.idempotency import Idempotency

ACCEPTED = 202


def status_url(order_id: str) -> str:
    return f"/v1/orders/{order_id}"


async def check_order(*, erp: CachedErp, order: OrderCreate) -> None:
    """Customer known and active, currency the customer's, every SKU known and active. All
    problems are reported at once, each with the JSON pointer of the field to fix. The facts come
    from the master data copy (``masterdata``), so intake goes on while the ERP is down."""
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
    statuses = await erp.item_statuses([line.sku for line in order.lines])
    for index, line in enumerate(order.lines):
        status = statuses.get(line.sku)
        if status is None:
            errors.append(_error(f"#/lines/{index}/sku", f"unknown SKU {line.sku}"))
        elif status is not ProductStatus.active:
            errors.append(_error(f"#/lines/{index}/sku", f"SKU {line.sku} is {status.value}"))
    if errors:
        summary = "; ".join(e["detail"] for e in errors)
        raise BusinessRuleViolation(f"The order cannot be accepted: {summary}.", errors=errors)


def _error(pointer: str, detail: str) -> dict[str, str]:
    return {"pointer": pointer, "in": "body", "detail": detail}


async def get_order(*, session: AsyncSession | AsyncConnection, order_id: str, partner_id: str | None) -> Order:
    """An order as its owner sees it; another partner's order does not exist for the caller."""
    found = await repository.read_order(session, order_id=order_id)
    if found is None or (partner_id is not None and found[1] != partner_id):
        raise NotFound(f"No order {order_id}.")
    return found[0] if partner_id is None else as_partner_sees_it(found[0])


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
    orders = [repository.to_order(row) for row in rows]
    return OrderList(items=orders if partner_id is None else [as_partner_sees_it(order) for order in orders])


#: Where a cancellation can no longer be done at all.
_TOO_LATE_TO_CANCEL = (OrderStatus.shipped, OrderStatus.invoiced, OrderStatus.completed)


async def request_cancellation(
    *, session: AsyncSession, idem: Idempotency, order_id: str, partner_id: str | None, reason: str
) -> CancelAccepted:
    """Records the cancellation for the worker to carry out (it undoes what the saga did: cancel
    picking, cancel the ERP sales order, give the stock back) and answers at once. Whether it could
    be done shows on the order: ``cancelled``, or ``cancel_outcome`` saying it came too late."""
    replay = await idem.start()
    if replay is not None:
        return CancelAccepted.model_validate(replay.body)
    row = await repository.get_order(session, order_id=order_id)
    if row is None or (partner_id is not None and row.partner_id != partner_id):
        raise NotFound(f"No order {order_id}.")
    status = OrderStatus(row.status)
    if status in _TOO_LATE_TO_CANCEL:
        raise Conflict(
            f"Order {order_id} is already {status.value}: too late to cancel it; ask for a return instead.",
            order_status=status.value,
        )
    if status is OrderStatus.rejected:
        raise Conflict(f"Order {order_id} was rejected; there is nothing to cancel.", order_status=status.value)
    pending = status is not OrderStatus.cancelled
    if pending and row.cancel_requested_at is None:
        # A conditional update that also bumps the row's version: a worker writing this order at
        # the same moment sees the change and reads it again instead of overwriting it.
        await repository.request_cancellation(session, order_id=order_id, reason=reason, at=datetime.now(UTC))
    answer = CancelAccepted(id=order_id, status=status, cancel_requested=pending, status_url=status_url(order_id))
    await idem.finish(session, status_code=ACCEPTED, body=answer.model_dump(mode="json"))
    return answer


__all__ = [
    "check_order",
    "get_order",
    "list_orders",
    "request_cancellation",
    "status_url",
]
