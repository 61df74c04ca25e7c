"""Every change to a stock balance, journaled and announced: ``com.interchange.stock.moved.v1``.

``record_movement`` runs in the caller's transaction, right after the balance changed: it bumps
the balance's ``movement_seq`` (the event's ``entityversion``), writes the journal row and adds
the event to the outbox, so the change, its history and its event commit together or not at all.
The reference adapter calls it; an adapter for a real WMS would read that WMS's own movement
feed and announce from there instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import MovementKind, StockMovedV1
from service_kit.events import add_event, new_event
from system_apis.wms.models import WmsStock, WmsStockMovement, WmsWarehouse

SOURCE = "urn:interchange:system:wms"


@dataclass(frozen=True)
class Movement:
    sku: str
    warehouse: str  # canonical site code
    kind: MovementKind
    delta: int
    on_hand_after: int
    reserved_after: int
    version: int
    occurred_at: datetime
    reference: str | None


def subject(*, sku: str, warehouse: str) -> str:
    return f"sku/{sku}/{warehouse}"


async def record_movement(
    *,
    session: AsyncSession,
    whse_id: str,
    article: str,
    kind: MovementKind,
    delta: int,
    at: datetime,
    reference: str | None = None,
    reason: str | None = None,
) -> Movement:
    """Version, journal and announce a change already made to ``(whse_id, article)``."""
    bumped = await session.execute(
        update(WmsStock)
        .where(WmsStock.whse_id == whse_id, WmsStock.article == article)
        .values(movement_seq=WmsStock.movement_seq + 1)
        .returning(WmsStock.qty_on_hand, WmsStock.qty_allocated, WmsStock.movement_seq)
        .execution_options(synchronize_session=False)
    )
    on_hand, allocated, seq = bumped.one()
    site = (await session.execute(select(WmsWarehouse.site_code).where(WmsWarehouse.whse_id == whse_id))).scalar_one()
    session.add(
        WmsStockMovement(
            whse_id=whse_id,
            article=article,
            kind=kind.value,
            qty_delta=delta,
            on_hand_after=on_hand,
            allocated_after=allocated,
            seq=seq,
            reference=reference,
            reason=reason,
            occurred_at=at,
        )
    )
    movement = Movement(article, site, kind, delta, on_hand, allocated, seq, at, reference)
    data = StockMovedV1(
        sku=article,
        warehouse=site,
        movement=kind,
        quantity_delta=str(delta),
        on_hand_after=str(on_hand),
        reserved_after=str(allocated),
        occurred_at=at,
        reference=reference[:64] if reference else None,
    )
    event = new_event(
        data=data, source=SOURCE, subject=subject(sku=article, warehouse=site), entity_version=seq, time=at
    )
    await add_event(session=session, event=event)
    return movement


__all__ = ["SOURCE", "Movement", "record_movement", "subject"]
