"""The inventory service's tables: the projection of stock and items, and per channel and SKU
what the channel should show (``desired``), what it was last told (``told``) and whether a
publication is due. Quantities are whole units (the WMS counts EA)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class StockPosition(Base):
    __tablename__ = "inv_positions"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    warehouse: Mapped[str] = mapped_column(String(32), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)  # the WMS movement sequence applied last
    moved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ItemPolicy(Base):
    __tablename__ = "inv_items"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    safety_stock: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)


class ChannelAvailability(Base):
    __tablename__ = "inv_channel_availability"
    __table_args__ = (Index("ix_inv_channel_due", "due_at"),)

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    desired: Mapped[int] = mapped_column(Integer)
    #: occurred_at of the latest movement reflected in ``desired`` (sync lag starts there).
    as_of: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: Not null while a publication is pending: when it may go out at the earliest.
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    told: Mapped[int | None] = mapped_column(Integer, nullable=True)
    told_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    told_seq: Mapped[int] = mapped_column(Integer, default=0)  # entityversion of the last publication
    #: Bumped by every change of ``desired`` or ``due_at`` from the projection: the publisher marks a
    #: row told only if it is still the version it read (compare-and-set), so a change that lands
    #: while a publication is being recorded stays due and goes out next.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Publication(Base):
    """Every availability.changed published: what a channel was told, and when."""

    __tablename__ = "inv_publications"
    __table_args__ = (Index("ix_inv_publications_sku", "sku", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    sku: Mapped[str] = mapped_column(String(64))
    available: Mapped[int] = mapped_column(Integer)
    previous: Mapped[int | None] = mapped_column(Integer, nullable=True)
    event_id: Mapped[str] = mapped_column(String(128))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class SyncMinute(Base):
    """How fast availability reached a channel, per minute: what the stock page charts over time.
    One row per channel and minute, added to by every publisher pass that published in it."""

    __tablename__ = "inv_sync_minutes"
    #: The stock page reads every channel's recent minutes (``minute >= since``) and the prune the old ones.
    __table_args__ = (Index("ix_inv_sync_minutes_minute", "minute"),)

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    minute: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    updates: Mapped[int] = mapped_column(Integer)
    lag_sum: Mapped[float] = mapped_column(Float)  # seconds, movement -> published, over the updates
    lag_max: Mapped[float] = mapped_column(Float)
    within_1s: Mapped[int] = mapped_column(Integer)  # updates that reached the channel within a second


class ReconcileRun(Base):
    """What one reconciliation found on one channel (scheduled or asked for): drift over time."""

    __tablename__ = "inv_reconcile_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    drift: Mapped[int] = mapped_column(Integer)
    repaired: Mapped[bool] = mapped_column(Boolean)
