"""SQL of the order webhooks: shops, deliveries taken, storefront orders' latest update."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from experience_apis.storefront.models import StorefrontOrder, StorefrontShop, WebhookDelivery


async def get_shop(session: AsyncSession, *, shop_domain: str) -> StorefrontShop | None:
    return await session.get(StorefrontShop, shop_domain)


async def delivery_taken(session: AsyncSession, *, delivery_id: str) -> WebhookDelivery | None:
    return await session.get(WebhookDelivery, delivery_id)


async def get_order(session: AsyncSession, *, shop_domain: str, storefront_order_id: str) -> StorefrontOrder | None:
    return (
        await session.execute(
            select(StorefrontOrder).where(
                StorefrontOrder.shop_domain == shop_domain,
                StorefrontOrder.storefront_order_id == storefront_order_id,
            )
        )
    ).scalar_one_or_none()


def add_delivery(
    session: AsyncSession,
    *,
    delivery_id: str,
    shop_domain: str,
    topic: str,
    storefront_order_id: str,
    outcome: str,
    at: datetime,
) -> None:
    """Flushed with the transaction: a second delivery under the same id breaks the primary key."""
    session.add(
        WebhookDelivery(
            delivery_id=delivery_id,
            shop_domain=shop_domain,
            topic=topic,
            storefront_order_id=storefront_order_id,
            outcome=outcome,
            received_at=at,
        )
    )


def add_order(session: AsyncSession, order: StorefrontOrder) -> None:
    session.add(order)


def add_shop(session: AsyncSession, shop: StorefrontShop) -> None:
    session.add(shop)
