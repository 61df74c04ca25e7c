"""The exception queue's size and oldest age as Prometheus gauges, read from the database when
Prometheus scrapes (``interchange_orders_exception_queue_*``, service_kit.metrics): one aggregate
statement per scrape, nothing on the saga's path."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import func, select

from contracts import OrderStatus
from process_apis.orders.models import OrderRow
from process_apis.orders.repository import aware
from service_kit.db import Database
from service_kit.metrics import BusinessMetrics


async def queue_size_and_oldest(db: Database) -> tuple[int, datetime | None]:
    """How many orders are in the exception queue, and when the longest-waiting one was parked
    (the same orders as ``repository.list_parked``)."""
    stmt = select(func.count(), func.min(OrderRow.parked_at)).where(
        OrderRow.status == OrderStatus.on_hold.value, OrderRow.saga_active.is_(False)
    )
    async with db.transaction() as session:
        size, oldest = (await session.execute(stmt)).one()
    return int(size), aware(oldest) if oldest is not None else None


def watch_exception_queue(app: FastAPI) -> None:
    """Set the gauges before every scrape, while the app's database is open."""
    metrics: BusinessMetrics = app.state.metrics

    async def refresh() -> None:
        db: Database | None = getattr(app.state, "db", None)
        if db is None:  # not started, or stopping
            return
        size, oldest = await queue_size_and_oldest(db)
        metrics.exception_queue_size.set(size)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        metrics.exception_queue_oldest.set(max(0.0, age))

    metrics.on_scrape(refresh)


__all__ = ["queue_size_and_oldest", "watch_exception_queue"]
