"""The B2B channel's logic: who the reseller is (its account), and its catalog, purchase orders and
credit through the orders process API. The reseller is always the token's partner."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Order, OrderCreate
from experience_apis.b2b import quotes, repository
from experience_apis.b2b.clients import OrdersApi
from experience_apis.b2b.models import Reseller
from experience_apis.b2b.schemas import (
    Account,
    Catalog,
    CatalogItem,
    PurchaseOrder,
    PurchaseOrderAccepted,
    PurchaseOrderCreate,
    PurchaseOrderList,
)
from service_kit.errors import BusinessRuleViolation, Forbidden, InterchangeError, NotFound, UnprocessableContent

STATUS_URL_PREFIX = "/b2b/v1/purchase-orders/"


async def reseller(*, session: AsyncSession, partner_id: str) -> Reseller:
    found = await repository.get_reseller(session, partner_id=partner_id)
    if found is None:
        raise Forbidden("This client is not set up as a reseller; ask your account manager to set it up.")
    return found


async def catalog(*, orders: OrdersApi, account: Reseller) -> Catalog:
    prices = await orders.account_prices(customer_id=account.customer_id)
    return Catalog(
        price_list=prices.price_list,
        currency=prices.currency,
        items=[CatalogItem(sku=i.sku, unit=i.unit, unit_price=i.unit_price, status=i.status) for i in prices.items],
    )


async def account_summary(*, orders: OrdersApi, account: Reseller) -> Account:
    credit = await orders.account_credit(customer_id=account.customer_id)
    return Account.model_validate(credit.model_dump())


def idempotency_key(*, partner_id: str, key: str) -> str:
    """The key the orders API sees: the reseller's own key, kept apart from every other reseller's."""
    return f"b2b:{partner_id}:{key}"


async def submit_purchase_order(
    *, session: AsyncSession, orders: OrdersApi, account: Reseller, channel: str, po: PurchaseOrderCreate, key: str
) -> PurchaseOrderAccepted:
    await quotes.check_against_quote(session=session, orders=orders, account=account, po=po)
    order = OrderCreate(
        channel=channel,
        channel_order_id=po.po_number,
        customer_id=account.customer_id,
        currency=account.currency,
        ship_to=po.ship_to,
        lines=[{"sku": line.sku, "quantity": line.quantity} for line in po.lines],
        split_shipments_allowed=po.split_shipments_allowed,
    )
    try:
        accepted = await orders.submit_order(
            order=order,
            partner_id=account.partner_id,
            idempotency_key=idempotency_key(partner_id=account.partner_id, key=key),
        )
    except (BusinessRuleViolation, UnprocessableContent) as exc:
        raise _in_dialect(exc) from exc
    return PurchaseOrderAccepted(
        order_id=accepted.id,
        po_number=po.po_number,
        status=accepted.status,
        status_url=f"{STATUS_URL_PREFIX}{accepted.id}",
    )


def _in_dialect(exc: InterchangeError) -> InterchangeError:
    """The orders API's pointers in this dialect's words: the PO number, and the account (not a field here)."""
    renamed = {"#/channel_order_id": "#/po_number"}
    errors: list[dict[str, Any]] = []
    for error in getattr(exc, "errors", None) or []:
        pointer = str(error.get("pointer", ""))
        if pointer in ("#/customer_id", "#/currency"):
            error = {**error, "pointer": "#", "detail": f"Your account cannot order: {error.get('detail', '')}"}
        errors.append({**error, "pointer": renamed.get(pointer, error.get("pointer", "#"))})
    return type(exc)(exc.detail, errors=errors or None)


def _purchase_order(order: Order) -> PurchaseOrder:
    return PurchaseOrder(
        order_id=order.id,
        po_number=order.channel_order_id,
        status=order.status,
        status_reason=order.status_reason,
        status_reason_code=order.status_reason_code,
        currency=order.currency,
        lines=order.lines,
        total=order.total,
        erp_order_number=order.erp_order_number,
        ship_to=order.ship_to,
        created_at=order.created_at,
        updated_at=order.updated_at,
    )


async def get_purchase_order(*, orders: OrdersApi, account: Reseller, channel: str, order_id: str) -> PurchaseOrder:
    order = await orders.get_order(order_id=order_id, partner_id=account.partner_id)
    if order is None or order.channel != channel:  # another reseller's (or channel's) order is not there
        raise NotFound(f"No purchase order {order_id!r} of yours; list them at /b2b/v1/purchase-orders.")
    return _purchase_order(order)


async def list_purchase_orders(
    *, orders: OrdersApi, account: Reseller, channel: str, limit: int, offset: int
) -> PurchaseOrderList:
    found = await orders.list_orders(partner_id=account.partner_id, channel=channel, limit=limit, offset=offset)
    return PurchaseOrderList(items=[_purchase_order(o) for o in found])
