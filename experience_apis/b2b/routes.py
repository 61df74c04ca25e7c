"""Version 1 of the B2B API. HTTP only: parse, call one service function, answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from contracts.scopes import B2B_ACCOUNT_READ, B2B_CATALOG_READ, B2B_ORDERS_READ, B2B_ORDERS_WRITE
from experience_apis.b2b import service
from experience_apis.b2b.clients import OrdersApi
from experience_apis.b2b.models import Reseller
from experience_apis.b2b.schemas import (
    Account,
    Catalog,
    PurchaseOrder,
    PurchaseOrderAccepted,
    PurchaseOrderCreate,
    PurchaseOrderList,
)
from service_kit.app import upstream
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.errors import Forbidden
from service_kit.idempotency import IdempotencyDep, IdempotencyKeyHeader
from service_kit.openapi import problem_doc

router = APIRouter(prefix="/v1", tags=["b2b"])

FORBIDDEN = problem_doc("The token lacks the scope, or its client is not set up as a reseller.")
UPSTREAM: dict[int | str, dict[str, Any]] = {
    502: problem_doc("The orders service behind this API failed; send the request again later."),
    503: problem_doc("A system behind this API is unavailable for now; send the request again after Retry-After."),
    504: problem_doc("The orders service behind this API did not answer in time; send it again later."),
}


async def _orders(request: Request) -> OrdersApi:
    return OrdersApi(upstream(request.app, "orders"))


async def _account(principal: Principal, session: SessionDep) -> Reseller:
    # A reseller acts only as itself: the partner is the token's own, never a parameter or header.
    if not principal.partner_id:
        raise Forbidden("This API is for resellers; the access token names no partner.")
    return await service.reseller(session=session, partner_id=principal.partner_id)


async def _catalog_reader(principal: Annotated[Principal, require(B2B_CATALOG_READ)], session: SessionDep) -> Reseller:
    return await _account(principal, session)


async def _order_writer(principal: Annotated[Principal, require(B2B_ORDERS_WRITE)], session: SessionDep) -> Reseller:
    return await _account(principal, session)


async def _order_reader(principal: Annotated[Principal, require(B2B_ORDERS_READ)], session: SessionDep) -> Reseller:
    return await _account(principal, session)


async def _account_reader(principal: Annotated[Principal, require(B2B_ACCOUNT_READ)], session: SessionDep) -> Reseller:
    return await _account(principal, session)


Orders = Annotated[OrdersApi, Depends(_orders)]
CatalogReader = Annotated[Reseller, Depends(_catalog_reader)]
OrderWriter = Annotated[Reseller, Depends(_order_writer)]
OrderReader = Annotated[Reseller, Depends(_order_reader)]
AccountReader = Annotated[Reseller, Depends(_account_reader)]
OrderId = Annotated[str, Path(min_length=1, max_length=64, examples=["ord_01JEXAMPLE"])]


def _channel(request: Request) -> str:
    return str(request.app.state.settings.channel)


@router.get("/catalog", operation_id="getCatalog", summary="Your catalog", responses={403: FORBIDDEN, **UPSTREAM})
async def get_catalog(account: CatalogReader, orders: Orders) -> Catalog:
    """Every item with your own net price: your account's ERP price list."""
    return await service.catalog(orders=orders, account=account)


@router.post(
    "/purchase-orders",
    status_code=202,
    operation_id="submitPurchaseOrder",
    summary="Submit a purchase order",
    description="Billed to your account at your prices (the server prices it). The `Idempotency-Key` makes a "
    "retry replay the first answer; the same PO number under another key is a 409 naming the existing order.",
    responses={
        202: {
            "description": "The order is recorded; follow it at `status_url`.",
            "headers": {"Location": {"description": "The order's status URL.", "schema": {"type": "string"}}},
        },
        403: FORBIDDEN,
        409: problem_doc(
            "This PO number was already submitted under another Idempotency-Key, or the same request "
            "is still being taken in."
        ),
        422: problem_doc(
            "The order breaks a rule (unknown or discontinued SKU, your account cannot order, the key "
            "reused with another body, the quote it names expired or its prices moved); `errors` names each field."
        ),
        **UPSTREAM,
    },
)
async def submit_purchase_order(
    body: PurchaseOrderCreate,
    account: OrderWriter,
    idempotency_key: IdempotencyKeyHeader,
    orders: Orders,
    session: SessionDep,
    idem: IdempotencyDep,
    request: Request,
    response: Response,
) -> PurchaseOrderAccepted:
    # A PO naming a quote is checked against it before the orders process sees its key: its answer is
    # kept here too, so that a retry replays it even after the quote expired or its prices moved.
    stored = await idem.start() if body.quote_id is not None else None
    if stored is not None:
        accepted = PurchaseOrderAccepted.model_validate(stored.body)
    else:
        accepted = await service.submit_purchase_order(
            session=session, orders=orders, account=account, channel=_channel(request), po=body, key=idempotency_key
        )
        if body.quote_id is not None:
            await idem.finish(session, status_code=202, body=accepted.model_dump(mode="json"))
    response.headers["Location"] = accepted.status_url
    return accepted


@router.get(
    "/purchase-orders",
    operation_id="listPurchaseOrders",
    summary="Your order history",
    responses={403: FORBIDDEN, **UPSTREAM},
)
async def list_purchase_orders(
    account: OrderReader,
    orders: Orders,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PurchaseOrderList:
    return await service.list_purchase_orders(
        orders=orders, account=account, channel=_channel(request), limit=limit, offset=offset
    )


@router.get(
    "/purchase-orders/{order_id}",
    operation_id="getPurchaseOrder",
    summary="A purchase order and its status",
    responses={403: FORBIDDEN, 404: problem_doc("No purchase order of yours with this id."), **UPSTREAM},
)
async def get_purchase_order(
    order_id: OrderId, account: OrderReader, orders: Orders, request: Request
) -> PurchaseOrder:
    return await service.get_purchase_order(
        orders=orders, account=account, channel=_channel(request), order_id=order_id
    )


@router.get(
    "/account", operation_id="getAccount", summary="Your account's credit", responses={403: FORBIDDEN, **UPSTREAM}
)
async def get_account(account: AccountReader, orders: Orders) -> Account:
    """Your credit limit, what your open orders hold of it, and the headroom left for new orders."""
    return await service.account_summary(orders=orders, account=account)
