"""``GET /v1/admin/orders/lookup``: find an order by any reference (scope ``orders:admin``, internal
clients only: the ops console and the CLI). HTTP only, as in admin_routes.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from process_apis.orders import lookup
from process_apis.orders.admin_routes import Limit, OrdersAdmin
from process_apis.orders.lookup import OrderMatches
from service_kit.db import SessionDep

router = APIRouter(prefix="/v1/admin", tags=["orders-admin"])


@router.get(
    "/orders/lookup",
    operation_id="lookupOrders",
    summary="Find orders by any reference",
    description="The orders whose id, channel order id, ERP sales order number or correlation id (of the "
    "intake or of any later status change) is `reference`, oldest first; each says which matched. "
    "An empty list when none does.",
)
async def lookup_orders(
    _: OrdersAdmin,
    session: SessionDep,
    reference: Annotated[
        str, Query(min_length=1, max_length=128, description="An order id, channel order id, ERP order number...")
    ],
    limit: Limit = 20,
) -> OrderMatches:
    return await lookup.find_by_reference(session=session, reference=reference.strip(), limit=limit)
