"""The fulfilment process's SQL: takes the caller's session, never commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from process_apis.fulfillment.models import (
    FulfillmentReplay,
    FulfillmentRequestRow,
    ReleasedOrderRow,
    ReturnRow,
    ShipmentRow,
)


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def get_released_order(session: AsyncSession, *, order_id: str) -> ReleasedOrderRow | None:
    return await session.get(ReleasedOrderRow, order_id)


async def get_request(session: AsyncSession, *, request_id: str) -> FulfillmentRequestRow | None:
    return await session.get(FulfillmentRequestRow, request_id)


async def lock_request(session: AsyncSession, *, request_id: str) -> None:
    """Holds the request against other shipments until this transaction ends (as the ERP holds a
    sales order for billing): what is left to ship is read and then written, so two ASNs of one
    request at once must not both see the same quantity open. ``SELECT ... FOR UPDATE`` is a no-op
    on SQLite, so this writes the row to itself: SQLite's write lock, PostgreSQL's row lock."""
    stmt = update(FulfillmentRequestRow).where(FulfillmentRequestRow.id == request_id)
    await session.execute(stmt.values(status=FulfillmentRequestRow.status).execution_options(synchronize_session=False))


async def lock_released_order(session: AsyncSession, *, order_id: str) -> None:
    """Holds the released order against other shipments of it until this transaction ends (see
    ``lock_request``)."""
    stmt = update(ReleasedOrderRow).where(ReleasedOrderRow.id == order_id)
    await session.execute(stmt.values(id=ReleasedOrderRow.id).execution_options(synchronize_session=False))


async def lock_order_shipments(session: AsyncSession, *, order_id: str) -> None:
    """Holds the order's shipments until this transaction ends, so what is left to return is read
    after any other return of the order committed (a return needs a shipment: there is a row)."""
    stmt = update(ShipmentRow).where(ShipmentRow.order_id == order_id)
    await session.execute(stmt.values(order_id=ShipmentRow.order_id).execution_options(synchronize_session=False))


async def requests_of(session: AsyncSession, *, order_id: str) -> list[FulfillmentRequestRow]:
    stmt = select(FulfillmentRequestRow).where(FulfillmentRequestRow.order_id == order_id)
    return list(await session.scalars(stmt.order_by(FulfillmentRequestRow.created_at)))


async def list_requests(
    session: AsyncSession, *, partner_id: str | None, status: str | None, limit: int, offset: int
) -> list[FulfillmentRequestRow]:
    stmt = select(FulfillmentRequestRow)
    if partner_id is not None:
        stmt = stmt.where(FulfillmentRequestRow.partner_id == partner_id)
    if status is not None:
        stmt = stmt.where(FulfillmentRequestRow.status == status)
    stmt = stmt.order_by(FulfillmentRequestRow.created_at, FulfillmentRequestRow.id).limit(limit).offset(offset)
    return list(await session.scalars(stmt))


async def get_shipment(session: AsyncSession, *, shipment_id: str) -> ShipmentRow | None:
    return await session.get(ShipmentRow, shipment_id)


async def shipments_of(session: AsyncSession, *, order_id: str) -> list[ShipmentRow]:
    stmt = select(ShipmentRow).where(ShipmentRow.order_id == order_id)
    return list(await session.scalars(stmt.order_by(ShipmentRow.created_at, ShipmentRow.id)))


async def get_return(session: AsyncSession, *, return_id: str) -> ReturnRow | None:
    return await session.get(ReturnRow, return_id)


async def returns_named(session: AsyncSession, *, reference: str) -> list[ReturnRow]:
    """Returns whose id is ``<partner>:<reference>``: a channel's reference namespaced by its partner."""
    stmt = select(ReturnRow).where(ReturnRow.id.endswith(f":{reference}", autoescape=True))
    return list(await session.scalars(stmt.order_by(ReturnRow.created_at, ReturnRow.id)))


async def returns_of(session: AsyncSession, *, order_id: str) -> list[ReturnRow]:
    stmt = select(ReturnRow).where(ReturnRow.order_id == order_id)
    return list(await session.scalars(stmt.order_by(ReturnRow.created_at, ReturnRow.id)))


def _counts(shipment: ShipmentRow) -> bool:
    """A shipment counts as shipped unless it was parked because its order refused it."""
    return not (shipment.status == "held" and shipment.failed_step == "check_order")


def quantities_by_line(rows: Sequence[Any], *, field: str = "lines") -> dict[int, Decimal]:
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for row in rows:
        for line in getattr(row, field):
            if line.get("line_no") is not None:
                totals[int(line["line_no"])] += Decimal(line["quantity"]["value"])
    return totals


async def shipped_by_line(session: AsyncSession, *, order_id: str, request_id: str | None = None) -> dict[int, Decimal]:
    shipments = [s for s in await shipments_of(session, order_id=order_id) if _counts(s)]
    if request_id is not None:
        shipments = [s for s in shipments if s.request_id == request_id]
    return quantities_by_line(shipments)


async def list_parked(
    session: AsyncSession, *, limit: int, offset: int
) -> list[ShipmentRow | ReturnRow | ReleasedOrderRow]:
    """Parked rows of every saga, oldest first."""
    parked: list[Any] = []
    for model in (ShipmentRow, ReturnRow, ReleasedOrderRow):
        stmt = select(model).where(model.saga_active.is_(False), model.parked_at.is_not(None))
        parked.extend(await session.scalars(stmt))
    parked.sort(key=lambda row: (aware(row.parked_at), row.id))
    return parked[offset : offset + limit]


def add_replay(session: AsyncSession, *, replay: FulfillmentReplay) -> None:
    session.add(replay)


__all__ = [
    "add_replay",
    "aware",
    "get_released_order",
    "get_request",
    "get_return",
    "get_shipment",
    "list_parked",
    "list_requests",
    "lock_order_shipments",
    "lock_released_order",
    "lock_request",
    "quantities_by_line",
    "requests_of",
    "returns_of",
    "shipments_of",
    "shipped_by_line",
]
