"""Version 1 of the marketplace dialect (deprecated; see ``app.py``). HTTP only: parse, call one
service function, answer in the dialect."""

from __future__ import annotations

from fastapi import APIRouter, Response

from experience_apis.marketplace import mapping_v1, service
from experience_apis.marketplace.dependencies import (
    FORBIDDEN,
    LOCATION,
    SUBMIT_CONFLICT,
    SUBMIT_INVALID,
    UPSTREAM,
    MarketplaceOrderId,
    OptionalKey,
    Orders,
    ReadingPartner,
    ReadRepository,
    Store,
    WritingPartner,
)
from experience_apis.marketplace.schemas import MarketplaceOrderAccepted, MarketplaceOrderCreate, MarketplaceOrderRead
from service_kit.openapi import problem_doc
from service_kit.precomputed import precomputed

router = APIRouter(prefix="/v1", tags=["marketplace"])


@router.post(
    "/orders",
    status_code=202,
    operation_id="submitMarketplaceOrder",
    summary="Submit a marketplace order",
    description="Seller SKUs are mapped through the partner's listings (an unlisted one is a 422 at "
    "`#/order_items/N/seller_sku`) and the order is billed to the partner's account, in its currency. "
    "Prices come from the seller's price list; `item_price` is kept for reference only. Sending the same "
    "order again answers the same `order_reference` with the order's current `order_status`. An optional "
    "`Idempotency-Key` makes a retry replay the first answer as it was. Deprecated: use `/marketplace/v2/orders`.",
    responses={
        202: {
            "description": "The order is recorded (or was already, for the same order sent again); follow it at "
            "`status_url`.",
            "headers": LOCATION,
        },
        403: FORBIDDEN,
        409: SUBMIT_CONFLICT,
        422: SUBMIT_INVALID,
        **UPSTREAM,
    },
)
@precomputed  # intake: served without FastAPI's per-request solver (service_kit.precomputed)
async def submit_order(
    body: MarketplaceOrderCreate,
    partner_id: WritingPartner,
    key: OptionalKey,
    store: Store,
    orders: Orders,
    response: Response,
) -> MarketplaceOrderAccepted:
    receipt = await service.submit_order(
        store=store,
        orders=orders,
        partner_id=partner_id,
        submission=mapping_v1.to_submission(body),
        dialect=mapping_v1.DIALECT,
        key=key,
    )
    accepted = mapping_v1.to_marketplace_accepted(receipt)
    response.headers["Location"] = accepted.status_url
    return accepted


@router.get(
    "/orders/{marketplace_order_id}",
    operation_id="getMarketplaceOrder",
    summary="Get the status of a marketplace order",
    description="Deprecated: use `/marketplace/v2/orders/{marketplace_order_id}`.",
    responses={
        403: FORBIDDEN,
        404: problem_doc("This partner has submitted no order with this marketplace_order_id."),
        **UPSTREAM,
    },
)
@precomputed  # the status read partners poll: served without FastAPI's per-request solver
async def get_order(
    marketplace_order_id: MarketplaceOrderId, partner_id: ReadingPartner, repository: ReadRepository, orders: Orders
) -> MarketplaceOrderRead:
    view = await service.get_order_status(
        repository=repository, orders=orders, partner_id=partner_id, marketplace_order_id=marketplace_order_id
    )
    return mapping_v1.to_marketplace_order(view)
