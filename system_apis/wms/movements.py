"""Every change to a stock balance, journaled and announced: ``com.interchange.stock.moved.v1``.

``record_movement`` runs in the caller's transaction, right after the balance changed: it bumps
the balance's ``movement_seq`` (the event's ``entityversion``), writes the journal row and adds
the event to the outbox, so the change, its history and its event commit together or not at all.
``announce_movement`` is its second half, for a caller that bumped the sequence in the same
statement as the balance (a receipt of many lines: one statement per line, one flush in all).
The reference adapter calls it; an adapter for a real WMS would read that WMS's own movement
feed and announce from there instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import CloudEvent, MovementKind, StockMovedV1
from service_kit.events import new_event
from service_kit.events.outbox import OutboxRecord, stage_event
from system_apis.wms.models import WmsStock, WmsStockMovement, WmsWarehouse
from system_apis.wms.units import Unit

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
    movement = Movement(article, site, kind, delta, on_hand, allocated, seq, at, reference)
    announce_movement(session=session, whse_id=whse_id, movement=movement, reason=reason)
    await session.flush()
    return movement


_JOURNAL = insert(cast(Table, WmsStockMovement.__table__))
_OUTBOX = insert(cast(Table, OutboxRecord.__table__))


def write_movements(*, unit: Unit, whse_id: str, movements: Sequence[Movement], reason: str | None = None) -> None:
    """Journal and announce movements already versioned, in two statements for all of them (one
    per table, each row as ``announce_movement`` would add it): a receipt or a reservation writes
    its lines with no ORM unit of work. The outbox rows are the ones ``stage_event`` writes; the
    unit's runner wakes the relay once the transaction has committed."""
    if not movements:
        return
    unit.conn.execute(_JOURNAL, [_journal_row(whse_id=whse_id, movement=m, reason=reason) for m in movements])
    now = datetime.now(UTC)
    unit.conn.execute(_OUTBOX, [_outbox_row(event=_event(m), created_at=now) for m in movements])
    unit.announced = True


def stage_on_unit(*, unit: Unit, event: CloudEvent) -> None:
    """Add one event to the outbox in the unit's transaction (the row ``stage_event`` writes)."""
    unit.conn.execute(_OUTBOX, [_outbox_row(event=event, created_at=datetime.now(UTC))])
    unit.announced = True


def _journal_row(*, whse_id: str, movement: Movement, reason: str | None) -> dict[str, Any]:
    return {
        "whse_id": whse_id,
        "article": movement.sku,
        "kind": movement.kind.value,
        "qty_delta": movement.delta,
        "on_hand_after": movement.on_hand_after,
        "allocated_after": movement.reserved_after,
        "seq": movement.version,
        "reference": movement.reference,
        "reason": reason,
        "occurred_at": movement.occurred_at,
    }


def _outbox_row(*, event: CloudEvent, created_at: datetime) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "type": event.type,
        "subject": event.subject,
        "envelope": event.model_dump_json(),
        "created_at": created_at,
        "published_at": None,
        "attempts": 0,
        "last_error": None,
    }


def _event(movement: Movement) -> CloudEvent:
    reference = movement.reference
    data = StockMovedV1(
        sku=movement.sku,
        warehouse=movement.warehouse,
        movement=movement.kind,
        quantity_delta=str(movement.delta),
        on_hand_after=str(movement.on_hand_after),
        reserved_after=str(movement.reserved_after),
        occurred_at=movement.occurred_at,
        reference=reference[:64] if reference else None,
    )
    return new_event(
        data=data,
        source=SOURCE,
        subject=subject(sku=movement.sku, warehouse=movement.warehouse),
        entity_version=movement.version,
        time=movement.occurred_at,
    )


def announce_movement(*, session: AsyncSession, whse_id: str, movement: Movement, reason: str | None = None) -> None:
    """Journal and announce a movement already versioned (its balance row carries
    ``movement.version``), without a round trip: both rows are added to the caller's session and
    written with its next flush, so a caller booking many lines writes them in one go."""
    session.add(
        WmsStockMovement(
            whse_id=whse_id,
            article=movement.sku,
            kind=movement.kind.value,
            qty_delta=movement.delta,
            on_hand_after=movement.on_hand_after,
            allocated_after=movement.reserved_after,
            seq=movement.version,
            reference=movement.reference,
            reason=reason,
            occurred_at=movement.occurred_at,
        )
    )
    event = _event(movement)
    stage_event(session=session, event=event)


__all__ = [
    "SOURCE",
    "Movement",
    "announce_movement",
    "record_movement",
    "stage_on_unit",
    "subject",
    "write_movements",
]
