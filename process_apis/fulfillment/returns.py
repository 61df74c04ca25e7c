"""Returns: authorised for goods shipped and not yet returned (nothing written on a refusal),
then received (by the API or the WMS's event) and handed to the return saga."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.fulfillment import ReturnCreate, ReturnReceiptCreate, ReturnStatus
from process_apis.fulfillment import repository
from process_apis.fulfillment.models import ReturnRow, ReturnStep
from process_apis.fulfillment.saga import now_utc
from process_apis.fulfillment.schemas import ReturnRead
from process_apis.fulfillment.service import (
    SAGA_TOPIC,
    check_lines,
    correlation,
    may_see,
    order_for,
    problem,
    quantity_of,
    return_read,
)
from service_kit.errors import Conflict, NotFound
from service_kit.workers import notify_after_commit


async def create_return(*, session: AsyncSession, body: ReturnCreate, partner_id: str | None) -> ReturnRead:
    """Authorises a return for what shipped and is not returned yet; the same return again answers it.
    The order's shipments are locked before anything is read, so a concurrent return of the same
    goods is checked against this one."""
    await repository.lock_order_shipments(session, order_id=body.order_id)
    existing = await repository.get_return(session, return_id=body.return_id)
    if existing is not None:
        if existing.order_id != body.order_id or not may_see(partner_id, existing.order_partner_id):
            raise Conflict(f"Return id {body.return_id} is already used; send a new return reference.")
        if existing.lines != [line.model_dump(mode="json") for line in body.lines]:
            raise Conflict(f"Return {body.return_id} was authorised with other content; use a new return id.")
        return return_read(existing)
    order = await order_for(session, order_id=body.order_id, partner_id=partner_id)
    shipments = [s for s in await repository.shipments_of(session, order_id=body.order_id) if s.status != "held"]
    if not shipments:
        raise problem(
            f"Nothing of order {body.order_id} has shipped: there are no goods to return.",
            [{"loc": ["body", "order_id"], "msg": "no shipped goods"}],
        )
    shipped = repository.quantities_by_line(shipments)
    known = {}
    for shipment in shipments:
        for line in shipment.lines:
            known[int(line["line_no"])] = {"sku": line["sku"], "quantity": quantity_of(shipped[int(line["line_no"])])}
    returned = repository.quantities_by_line(await repository.returns_of(session, order_id=body.order_id))
    asked = [line.model_dump(mode="json") for line in body.lines]
    check_lines(asked, known=known, done=returned, what="shipped goods", done_as="returned")
    first = shipments[0]
    row = ReturnRow(
        id=body.return_id,
        order_id=body.order_id,
        order_partner_id=first.order_partner_id or (order.partner_id if order else None),
        channel=first.channel,
        channel_order_id=first.channel_order_id,
        customer_id=first.customer_id,
        lines=asked,
        received_lines=[],
        status=ReturnStatus.authorised.value,
        saga_step=ReturnStep.receive_in_wms.value,
        saga_active=False,  # waits for the goods
        attempts=0,
        correlation_id=correlation(),
        created_at=now_utc(),
    )
    session.add(row)
    await session.flush()
    return return_read(row)


async def receive_return(
    *,
    session: AsyncSession,
    return_id: str,
    body: ReturnReceiptCreate,
    partner_id: str | None,
    wms_recorded: bool = False,
) -> ReturnRead:
    """The goods of an authorised return arrived: the saga receives them in the WMS and credits them."""
    row = await _named(session, return_id=return_id, partner_id=partner_id)
    if row is None:
        raise NotFound(f"No return {return_id}.")
    if partner_id is not None and partner_id != row.order_partner_id:
        await order_for(session, order_id=row.order_id, partner_id=partner_id)  # its 3PL, else 404
    received = [line.model_dump(mode="json") for line in body.lines]
    if row.status != ReturnStatus.authorised.value:
        if row.received_lines == received and row.warehouse == body.warehouse:
            return return_read(row)  # the same receipt again
        raise Conflict(f"Return {return_id} is {row.status}: its goods were received already.")
    check_lines(received, known={ln["line_no"]: ln for ln in row.lines}, done={}, what="return", done_as="nothing")
    row.received_lines, row.warehouse, row.received_at = received, body.warehouse, body.received_at
    row.status, row.wms_recorded = ReturnStatus.received.value, wms_recorded
    row.saga_step = (ReturnStep.credit if wms_recorded else ReturnStep.receive_in_wms).value
    row.saga_active, row.attempts, row.next_attempt_at = True, 0, None
    notify_after_commit(session=session, topic=SAGA_TOPIC)
    await session.flush()
    return return_read(row)


async def _named(session: AsyncSession, *, return_id: str, partner_id: str | None) -> ReturnRow | None:
    """The return ``return_id`` names. A 3PL receiving goods names the return by the reference on
    its label: the channel's own, which the channel's API namespaced by its partner
    (``<partner>:<reference>``); it is the one return of that reference on an order the 3PL ships."""
    row = await repository.get_return(session, return_id=return_id)
    if row is not None or partner_id is None:
        return row
    mine = []
    for found in await repository.returns_named(session, reference=return_id):
        requests = await repository.requests_of(session, order_id=found.order_id)
        if found.order_partner_id == partner_id or any(r.partner_id == partner_id for r in requests):
            mine.append(found)
    if len(mine) > 1:
        raise Conflict(f"Return {return_id} names returns of more than one channel; ask the seller which one it is.")
    return mine[0] if mine else None


async def get_return(*, session: AsyncSession, return_id: str, partner_id: str | None) -> ReturnRead:
    row = await repository.get_return(session, return_id=return_id)
    if row is None or not may_see(partner_id, row.order_partner_id):
        raise NotFound(f"No return {return_id}.")
    return return_read(row)


__all__ = ["create_return", "get_return", "receive_return"]
