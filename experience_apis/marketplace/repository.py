"""All SQL of the marketplace experience API. The request's session owns the transaction: nothing
here commits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, and_, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from experience_apis.marketplace import intake_repository as intake_sql
from experience_apis.marketplace.directory import PartnerAccountRef, PartnerDirectory
from experience_apis.marketplace.intake_repository import LEASE, IntakeKey
from experience_apis.marketplace.intake_writer import IntakeWriter
from experience_apis.marketplace.models import Listing, PartnerAccount, SubmittedOrder
from service_kit.db import Database
from service_kit.idempotency import Idempotency, StoredResponse


@dataclass(frozen=True, slots=True)
class SubmittedOrderRef:
    """What a status read needs of a submitted order."""

    order_id: str
    items: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class SubmittedOrderKey:
    """What intake needs of a submitted order: which order it became and what was sent."""

    marketplace_order_id: str
    order_id: str
    request_fingerprint: str


_ACCOUNT = select(PartnerAccount.partner_id, PartnerAccount.customer_id, PartnerAccount.currency)
# Intake's statements, built once like the status read's below (values bound at execution).
_SUBMITTED = select(
    SubmittedOrder.marketplace_order_id, SubmittedOrder.order_id, SubmittedOrder.request_fingerprint
).where(
    SubmittedOrder.partner_id == bindparam("partner_id"),
    SubmittedOrder.marketplace_order_id == bindparam("marketplace_order_id"),
)
_SUBMITTED_TABLE: Table = SubmittedOrder.__table__  # type: ignore[assignment]
_RECORD_UNLESS_THERE = {
    "sqlite": sqlite.insert(_SUBMITTED_TABLE).on_conflict_do_nothing(),
    "postgresql": postgresql.insert(_SUBMITTED_TABLE).on_conflict_do_nothing(),
}


#: Built once (a statement built per call cost a tenth of a status read: operators, joins and its
#: cache key); the values are bound at execution.
_PARTNERS_ORDER = (
    select(PartnerAccount.partner_id, SubmittedOrder.order_id, SubmittedOrder.items)
    .outerjoin(
        SubmittedOrder,
        and_(
            SubmittedOrder.partner_id == PartnerAccount.partner_id,
            SubmittedOrder.marketplace_order_id == bindparam("marketplace_order_id"),
        ),
    )
    .where(PartnerAccount.partner_id == bindparam("partner_id"))
)


#: The request's session, or for a status read a bare connection (service_kit.db.ReadConnDep).
Executor = TypeVar("Executor", AsyncSession, AsyncConnection)


class MarketplaceRepository(Generic[Executor]):
    """``directory``: partner accounts and listings held in memory for a few seconds (intake reads
    them per order); without one, every read goes to the database."""

    def __init__(self, session: Executor, *, directory: PartnerDirectory | None = None) -> None:
        self.session: Executor = session
        self.directory = directory

    async def get_partner_account(self, partner_id: str) -> PartnerAccountRef | None:
        if self.directory is None:
            return await self._read_partner_account(partner_id)
        return await self.directory.account(partner_id, read=self._read_partner_account)

    async def listed_skus(self, partner_id: str, seller_skus: Iterable[str]) -> dict[str, str]:
        """Seller SKU -> canonical SKU, for those of ``seller_skus`` the partner has listed."""
        if self.directory is None:
            return await self._read_listings(partner_id, set(seller_skus))
        return await self.directory.listed_skus(partner_id, seller_skus, read=self._read_listings)

    async def _read_partner_account(self, partner_id: str) -> PartnerAccountRef | None:
        row = (await self.session.execute(_ACCOUNT.where(PartnerAccount.partner_id == partner_id))).first()
        return None if row is None else PartnerAccountRef(row.partner_id, row.customer_id, row.currency)

    async def _read_listings(self, partner_id: str, wanted: set[str]) -> dict[str, str]:
        if not wanted:
            return {}
        stmt = select(Listing.seller_sku, Listing.sku).where(
            Listing.partner_id == partner_id, Listing.seller_sku.in_(wanted)
        )
        return {seller_sku: sku for seller_sku, sku in (await self.session.execute(stmt)).all()}

    async def find_submitted_order(self, partner_id: str, marketplace_order_id: str) -> SubmittedOrderKey | None:
        params = {"partner_id": partner_id, "marketplace_order_id": marketplace_order_id}
        row = (await self.session.execute(_SUBMITTED, params)).first()
        return (
            None if row is None else SubmittedOrderKey(row.marketplace_order_id, row.order_id, row.request_fingerprint)
        )

    async def find_partners_submitted_order(
        self, partner_id: str, marketplace_order_id: str
    ) -> tuple[bool, SubmittedOrderRef | None]:
        """Whether ``partner_id`` is a partner, and its order's id and items, in one Core statement
        (a status read is the hot path: each statement is a round trip through aiosqlite's thread,
        and an ORM object costs more to load than the two columns it is read for)."""
        params = {"partner_id": partner_id, "marketplace_order_id": marketplace_order_id}
        row = (await self.session.execute(_PARTNERS_ORDER, params)).first()
        if row is None:
            return False, None
        return True, None if row.order_id is None else SubmittedOrderRef(order_id=row.order_id, items=row.items)

    async def record_submitted_order(
        self,
        *,
        partner_id: str,
        marketplace_order_id: str,
        order_id: str,
        request_fingerprint: str,
        items: list[dict[str, Any]],
        submitted_at: datetime,
    ) -> SubmittedOrderKey:
        """Insert the row unless a concurrent identical submission already did; either way return
        the row that is there (read back only when it was not ours)."""
        values = {
            "partner_id": partner_id,
            "marketplace_order_id": marketplace_order_id,
            "order_id": order_id,
            "request_fingerprint": request_fingerprint,
            "items": items,
            "submitted_at": submitted_at,
        }
        bind = self.session if isinstance(self.session, AsyncConnection) else self.session.get_bind()
        record = _RECORD_UNLESS_THERE.get(bind.dialect.name)
        if record is not None:
            if getattr(await self.session.execute(record, values), "rowcount", 0) == 1:
                return SubmittedOrderKey(marketplace_order_id, order_id, request_fingerprint)
        elif await self.find_submitted_order(partner_id, marketplace_order_id) is None:
            await self.session.execute(insert(_SUBMITTED_TABLE).values(values))
        row = await self.find_submitted_order(partner_id, marketplace_order_id)
        if row is None:  # the order id is already recorded for another marketplace order
            raise RuntimeError(f"order {order_id} is already recorded for another marketplace order")
        return row


@dataclass(frozen=True, slots=True)
class IntakeStore:
    """Intake's database: reads on a bare connection (no ORM session: intake's statements are Core,
    and a session's begin, flush bookkeeping and close cost more than they do), writes through the
    group-commit ``writer`` (``intake_writer``), and a transaction of its own for a write its batch
    could not take."""

    db: Database
    writer: IntakeWriter
    directory: PartnerDirectory | None = None

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[MarketplaceRepository[AsyncConnection]]:
        """A connection for reads; closed (rolled back) when the block ends, before any call out."""
        async with self.db.engine.connect() as conn:
            yield MarketplaceRepository(conn, directory=self.directory)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MarketplaceRepository[AsyncConnection]]:
        """Commits when the block ends, rolls back when it raises."""
        async with self.db.engine.begin() as conn:
            yield MarketplaceRepository(conn, directory=self.directory)

    async def claim(self, key: IntakeKey) -> StoredResponse | None:
        """Claim the key in the next batch (None: ours now); a key already there is claimed on its
        own by the kit, which answers the stored response to replay, a 422 or a 409."""
        kit = Idempotency(
            self.db, scope=key.scope, key=key.key, fingerprint=key.fingerprint, lease=LEASE.total_seconds()
        )
        return await self.writer.write([intake_sql.claim(key)], written=None, one=kit.start)

    async def abandon(self, key: IntakeKey) -> None:
        async with self.db.engine.begin() as conn:
            await intake_sql.abandon(conn, key)
