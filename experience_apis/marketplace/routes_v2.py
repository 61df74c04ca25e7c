"""Version 2 of the marketplace dialect: money as ``{"amount", "currency"}``, ``lines`` with a
``quantity``, and a required Idempotency-Key on submission. HTTP only: parse, call one service
function, answer in the dialect."""

from __future__ import annotations

from fastapi import APIRouter, Response

from experience_apis.marketplace import mapping_v2, service
from experience_apis.marketplace.dependencies import (
    FORBIDDEN,
    LOCATION,
    SUBMIT_CONFLICT,
    SUBMIT_INVALID,
    UPSTREAM,
    MarketplaceOrderId,
    Orders,
    ReadingPartner,
    ReadRepository,
    RequiredKey,
    Store,
    WritingPartner,
)
from experience_apis.marketplace.schemas_v2 import (
    MarketplaceOrderAcceptedV2,
    MarketplaceOrderCreateV2,
    MarketplaceOrderReadV2,
)
from service_kit.openapi import problem_doc
from service_kit.precomputed import precomputed

router = APIRouter(prefix="/v2", tags=["marketplace"])


@router.post(
    "/orders",
    status_code=202,
    operation_id="submitMarketplaceOrderV2",
    summary="Submit a marketplace order",
    description="Seller SKUs are mapped through the partner's listings (an unlisted one is a 422 at "
    "`#/lines/N/seller_sku`) and the order is billed to the partner's account; every line's `item_price` "
    "must be in the partner's currency. Prices come from the seller's price list; `item_price` is kept for "
    "reference only. The `Idempotency-Key` makes a retry replay the first answer as it was; sending the same "
    "order again under a new key answers the same `order_reference` with the order's current `order_status`.",
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
    body: MarketplaceOrderCreateV2,
    partner_id: WritingPartner,
    key: RequiredKey,
    store: Store,
    orders: Orders,
    response: Response,
) -> MarketplaceOrderAcceptedV2:
    receipt = await service.submit_order(
        store=store,
        orders=orders,
        partner_id=partner_id,
        submission=mapping_v2.to_submission(body),
        dialect=mapping_v2.DIALECT,
        key=key,
    )
    accepted = mapping_v2.to_marketplace_accepted(receipt)
    response.headers["Location"] = accepted.status_url
    return accepted


@router.get(
    "/orders/{marketplace_order_id}",
    operation_id="getMarketplaceOrderV2",
    summary="Get the status of a marketplace order",
    description="Any order of the partner, submitted on version 1 or 2.",
    responses={
        403: FORBIDDEN,
        404: problem_doc("This partner has submitted no order with this marketplace_order_id."),
        **UPSTREAM,
    },
)
@precomputed  # the status read partners poll: served without FastAPI's per-request solver
async def get_order(
    marketplace_order_id: MarketplaceOrderId, partner_id: ReadingPartner, repository: ReadRepository, orders: Orders
) -> MarketplaceOrderReadV2:
    view = await service.get_order_status(
        repository=repository, orders=orders, partner_id=partner_id, marketplace_order_id=marketplace_order_id
    )
    return mapping_v2.to_marketplace_order(view)
