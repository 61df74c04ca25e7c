"""HTTP only: parse, call one service function, return a schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from contracts.scopes import MARKETPLACE_ORDERS_READ, MARKETPLACE_ORDERS_WRITE
from experience_apis.marketplace import service
from experience_apis.marketplace.clients import OrdersApi
from experience_apis.marketplace.repository import MarketplaceRepository
from experience_apis.marketplace.schemas import MarketplaceOrderAccepted, MarketplaceOrderCreate, MarketplaceOrderRead
from service_kit.app import upstream
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.errors import PROBLEM_CONTENT_TYPE, Forbidden


def _repository(session: SessionDep) -> MarketplaceRepository:
    return MarketplaceRepository(session)


def _orders(request: Request) -> OrdersApi:
    return OrdersApi(upstream(request.app, "orders"))


def _partner(principal: Principal) -> str:
    # A marketplace acts only as itself: the partner is the token's own, never a header.
    if not principal.partner_id:
        raise Forbidden("This API is for marketplace partners; the access token names no partner.")
    return principal.partner_id


async def _writing_partner(principal: Annotated[Principal, require(MARKETPLACE_ORDERS_WRITE)]) -> str:
    return _partner(principal)


async def _reading_partner(principal: Annotated[Principal, require(MARKETPLACE_ORDERS_READ)]) -> str:
    return _partner(principal)


Repository = Annotated[MarketplaceRepository, Depends(_repository)]
Orders = Annotated[OrdersApi, Depends(_orders)]
WritingPartner = Annotated[str, Depends(_writing_partner)]
ReadingPartner = Annotated[str, Depends(_reading_partner)]
MarketplaceOrderId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$", examples=["ACME-100234"])
]


def _problem(description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        **extra,
    }


_FORBIDDEN = {
    "description": "The access token lacks the scope, names no partner, or the partner is not set up as a "
    "marketplace partner."
}
_UPSTREAM: dict[int | str, dict[str, Any]] = {
    502: _problem("The orders service behind this API failed or is unreachable; send the request again later."),
    504: _problem("The orders service behind this API did not answer in time; send the request again later."),
}

router = APIRouter(prefix="/v1", tags=["marketplace"])


@router.post(
    "/orders",
    status_code=202,
    operation_id="submitMarketplaceOrder",
    summary="Submit a marketplace order",
    description="Seller SKUs are mapped through the partner's listings (an unlisted one is a 422 at "
    "`#/order_items/N/seller_sku`) and the order is billed to the partner's account, in its currency. "
    "Prices come from the seller's price list; `item_price` is kept for reference only. Sending the same "
    "order again answers the same `order_reference`.",
    responses={
        202: {
            "description": "The order is recorded (or was already, for the same order sent again); follow it at "
            "`status_url`.",
            "headers": {"Location": {"description": "The order's status URL.", "schema": {"type": "string"}}},
        },
        403: _FORBIDDEN,
        409: _problem(
            "This marketplace_order_id was already submitted with other contents, or the same order is still "
            "being taken in (see Retry-After)."
        ),
        **_UPSTREAM,
    },
)
async def submit_order(
    body: MarketplaceOrderCreate, partner_id: WritingPartner, repository: Repository, orders: Orders, response: Response
) -> MarketplaceOrderAccepted:
    accepted = await service.submit_order(repository=repository, orders=orders, partner_id=partner_id, order=body)
    response.headers["Location"] = accepted.status_url
    return accepted


@router.get(
    "/orders/{marketplace_order_id}",
    operation_id="getMarketplaceOrder",
    summary="Get the status of a marketplace order",
    responses={
        403: _FORBIDDEN,
        404: _problem("This partner has submitted no order with this marketplace_order_id."),
        **_UPSTREAM,
    },
)
async def get_order(
    marketplace_order_id: MarketplaceOrderId, partner_id: ReadingPartner, repository: Repository, orders: Orders
) -> MarketplaceOrderRead:
    return await service.get_order_status(
        repository=repository, orders=orders, partner_id=partner_id, marketplace_order_id=marketplace_order_id
    )
