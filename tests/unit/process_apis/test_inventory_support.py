"""Small factories for the inventory tests: a projection database, stock.moved events, and the
availability.changed events waiting in the outbox."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from contracts.events import CloudEvent, ItemChangedV1, ItemStatus, MovementKind, StockMovedV1
from process_apis.inventory.handlers import GROUP, handler
from process_apis.inventory.models import Base
from process_apis.inventory.settings import default_channels
from service_kit.db import Database
from service_kit.events import new_event
from service_kit.events.batch import apply_events
from service_kit.events.outbox import OutboxRecord

RULES = default_channels()
T0 = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)


@asynccontextmanager
async def projection_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'inventory.db'}", metadata=[Base.metadata])
    await db.create_schema()
    try:
        yield db
    finally:
        await db.dispose()


def moved(
    sku: str,
    warehouse: str,
    *,
    on_hand: int,
    reserved: int = 0,
    version: int,
    kind: MovementKind = MovementKind.receipt,
    at: datetime = T0,
) -> CloudEvent:
    data = StockMovedV1(
        sku=sku,
        warehouse=warehouse,
        movement=kind,
        quantity_delta="1",
        on_hand_after=str(on_hand),
        reserved_after=str(reserved),
        occurred_at=at,
    )
    return new_event(data=data, source="/wms", subject=f"sku/{sku}/{warehouse}", entity_version=version)


def item_changed(sku: str, *, status: ItemStatus = ItemStatus.active, safety: int = 0, version: int) -> CloudEvent:
    data = ItemChangedV1(sku=sku, status=status, safety_stock=str(safety))
    return new_event(data=data, source="/erp", subject=f"item/{sku}", entity_version=version)


async def apply(db: Database, *events: CloudEvent, window: float = 0.25, now: datetime = T0) -> None:
    """The consumer applying ``events`` one at a time (a batch each)."""
    apply_stock_events = handler(rules=RULES, window=window, clock=lambda: now)
    for event in events:
        await apply_events(db=db, group=GROUP, events=[event], handler=apply_stock_events)


async def apply_batch(db: Database, *events: CloudEvent, window: float = 0.25, now: datetime = T0) -> None:
    """The consumer applying ``events`` as one batch (one transaction)."""
    await apply_events(
        db=db, group=GROUP, events=events, handler=handler(rules=RULES, window=window, clock=lambda: now)
    )


async def published(db: Database) -> list[dict[str, object]]:
    """The data of every availability.changed event in the outbox, oldest first."""
    async with db.transaction() as session:
        rows = (await session.execute(select(OutboxRecord.envelope).order_by(OutboxRecord.seq))).scalars()
        envelopes = [json.loads(row) for row in rows]
    return [e["data"] for e in envelopes if e["type"] == "com.interchange.availability.changed.v1"]
