"""Helpers for the event tests: event factories, a bounded poll, and a ledger database that a
test handler writes to (one row per application, so a second application would show)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Integer, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from contracts.events import CloudEvent
from service_kit.db import Database

T = TypeVar("T")

#: Short enough that redelivery tests run quickly; long enough never to expire by accident.
SHORT_LEASE = 0.3
MAX_DELIVERIES = 3


def stock_event(n: int, *, subject: str | None = None, version: int | None = None, **data: Any) -> CloudEvent:
    return CloudEvent(
        source="/tests",
        type="com.interchange.stock.moved.v1",
        subject=subject if subject is not None else f"sku/SKU-{n}/DC1",
        entityversion=version,
        data={"n": n, **data},
    )


async def eventually(probe: Callable[[], Awaitable[T | None]], *, within: float = 20.0) -> T:
    """Polls ``probe`` until it returns something truthy (a bounded loop, not a timing claim)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still nothing after {within} s")
        await asyncio.sleep(0.02)


class LedgerBase(DeclarativeBase):
    pass


class Applied(LedgerBase):
    """What a test handler did: one row per application (no unique key, so twice shows)."""

    __tablename__ = "applied"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(128))
    n: Mapped[int] = mapped_column(Integer)


async def applied_ns(db: Database) -> list[int]:
    async with db.transaction() as session:
        return list((await session.scalars(select(Applied.n).order_by(Applied.id))).all())


async def applied_count(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Applied)) or 0)


async def record(*, session: AsyncSession, event: CloudEvent) -> None:
    """A handler: writes one ledger row."""
    session.add(Applied(event_id=event.id, n=int(event.data["n"])))
