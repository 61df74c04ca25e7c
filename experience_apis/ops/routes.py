"""The console's API (scope ``ops``, internal clients only): the search behind its search box, for
scripts. HTTP only: parse, call one service function, answer. The caller's token is forwarded to
the admin APIs, which check their own scopes (``orders:admin``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from contracts.scopes import OPS
from experience_apis.ops import service
from experience_apis.ops.dependencies import bearer_token, orders_admin, settings_of
from experience_apis.ops.schemas import OrderSearch
from service_kit.auth import Principal, require
from service_kit.openapi import problem_doc

router = APIRouter(prefix="/v1", tags=["ops"])
Ops = Annotated[Principal, require(OPS)]


@router.get(
    "/orders/search",
    operation_id="searchOrders",
    summary="Find orders by any reference",
    description="The orders whose id, channel order id, ERP sales order number or correlation id is "
    "`reference`. The token must also carry `orders:admin` (the orders service checks it).",
    responses={
        403: {"description": "The token lacks ops (or orders:admin)."},
        502: problem_doc("The orders service is unavailable."),
    },
)
async def search_orders(
    _: Ops,
    request: Request,
    reference: Annotated[str, Query(min_length=1, max_length=128, description="Any reference of an order.")],
) -> OrderSearch:
    return await service.search(
        orders=orders_admin(request, bearer_token(request)),
        reference=reference,
        limit=settings_of(request).page_size,
    )
