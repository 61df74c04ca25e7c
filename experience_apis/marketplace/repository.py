"""All SQL of the marketplace experience API. The request's session owns the transaction: nothing
here commits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from experience_apis.marketplace.models import Listing, PartnerAccount, SubmittedOrder


@dataclass(frozen=True, slots=True)
class SubmittedOrderRef:
    """What a status read needs of a submitted order."""

    order_id: str
    items: list[dict[str, Any]]


class MarketplaceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_partner_account(self, partner_id: str) -> PartnerAccount | None:
        return await self.session.get(PartnerAccount, partner_id)

    async def listed_skus(self, partner_id: str, seller_skus: Iterable[str]) -> dict[str, str]:
        """Seller SKU -> canonical SKU, for those of ``seller_skus`` the partner has listed."""
        wanted = set(seller_skus)
        if not wanted:
            return {}
        stmt = select(Listing.seller_sku, Listing.sku).where(
            Listing.partner_id == partner_id, Listing.seller_sku.in_(wanted)
        )
        return {seller_sku: sku for seller_sku, sku in (await self.session.execute(stmt)).all()}

    async def find_submitted_order(self, partner_id: str, marketplace_order_id: str) -> SubmittedOrder | None:
        return await self.session.get(SubmittedOrder, (partner_id, marketplace_order_id))

    async def find_partners_submitted_order(
        self, partner_id: str, marketplace_order_id: str
    ) -> tuple[bool, SubmittedOrderRef | None]:
        """Whether ``partner_id`` is a partner, and its order's id and items, in one Core statement
        (a status read is the hot path: each statement is a round trip through aiosqlite's thread,
        and an ORM object costs more to load than the two columns it is read for)."""
        stmt = (
            select(PartnerAccount.partner_id, SubmittedOrder.order_id, SubmittedOrder.items)
            .outerjoin(
                SubmittedOrder,
                and_(
                    SubmittedOrder.partner_id == PartnerAccount.partner_id,
                    SubmittedOrder.marketplace_order_id == marketplace_order_id,
                ),
            )
            .where(PartnerAccount.partner_id == partner_id)
        )
        row = (await self.session.execute(stmt)).first()
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
    ) -> SubmittedOrder:
        """Insert the row unless a concurrent identical submission already did; either way return
        the row that is there."""
        values = {
            "partner_id": partner_id,
            "marketplace_order_id": marketplace_order_id,
            "order_id": order_id,
            "request_fingerprint": request_fingerprint,
            "items": items,
            "submitted_at": submitted_at,
        }
        dialect = self.session.get_bind().dialect.name
        if dialect in {"sqlite", "postgresql"}:
            ins = sqlite.insert if dialect == "sqlite" else postgresql.insert
            stmt = ins(SubmittedOrder).values(values).on_conflict_do_nothing()
            await self.session.execute(stmt)
        elif await self.find_submitted_order(partner_id, marketplace_order_id) is None:
            await self.session.execute(insert(SubmittedOrder).values(values))
        row = await self.session.get(SubmittedOrder, (partner_id, marketplace_order_id), populate_existing=True)
        if row is None:  # the order id is already recorded for another marketplace order
            raise RuntimeError(f"order {order_id} is already recorded for another marketplace order")
        return row
