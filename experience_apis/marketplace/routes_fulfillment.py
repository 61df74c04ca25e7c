"""Version 2: the shipments, invoices and returns of the partner's own orders (issue 11). HTTP
only: parse, call one service function, answer in the dialect."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from contracts.scopes import MARKETPLACE_SHIPMENTS_READ
from experience_apis.marketplace import fulfillment
from experience_apis.marketplace.dependencies import (
    FORBIDDEN,
    UPSTREAM,
    MarketplaceOrderId,
    ReadRepository,
    WritingPartner,
)
from experience_apis.marketplace.fulfillment_client import FulfillmentApi
from experience_apis.marketplace.schemas_fulfillment import InvoiceListV2, ReturnCreateV2, ReturnV2, ShipmentListV2
from service_kit.app import upstream
from service_kit.auth import Principal, require
from service_kit.errors import Forbidden
from service_kit.idempotency import IdempotencyKeyHeader
from service_kit.openapi import problem_doc

router = APIRouter(prefix="/v2", tags=["marketplace"])

NOT_YOURS = problem_doc("This partner has submitted no order with this marketplace_order_id.")
FULFILLMENT_UPSTREAM = {
    **UPSTREAM,
    502: problem_doc("The fulfilment service behind this API failed or is unreachable; send the request again later."),
    504: problem_doc("The fulfilment service behind this API did not answer in time; send the request again later."),
}


async def _shipments_partner(principal: Annotated[Principal, require(MARKETPLACE_SHIPMENTS_READ)]) -> str:
    # The partner is the token's own, never a parameter.
    if not principal.partner_id:
        raise Forbidden("This API is for marketplace partners; the access token names no partner.")
    return principal.partner_id


async def _fulfillment(request: Request) -> FulfillmentApi:
    return FulfillmentApi(upstream(request.app, "fulfillment"))


ShipmentsPartner = Annotated[str, Depends(_shipments_partner)]
Fulfillment = Annotated[FulfillmentApi, Depends(_fulfillment)]


@router.get(
    "/orders/{marketplace_order_id}/shipments",
    operation_id="listOrderShipmentsV2",
    summary="An order's shipments, with carrier and tracking",
    description="Oldest first; an order may ship in several parts, each with its own tracking. Empty until "
    "the first part ships.",
    responses={403: FORBIDDEN, 404: NOT_YOURS, **FULFILLMENT_UPSTREAM},
)
async def list_order_shipments(
    marketplace_order_id: MarketplaceOrderId,
    partner_id: ShipmentsPartner,
    repository: ReadRepository,
    fulfillment_api: Fulfillment,
) -> ShipmentListV2:
    return await fulfillment.list_shipments(
        repository=repository,
        fulfillment=fulfillment_api,
        partner_id=partner_id,
        marketplace_order_id=marketplace_order_id,
    )


@router.get(
    "/orders/{marketplace_order_id}/invoices",
    operation_id="listOrderInvoicesV2",
    summary="An order's invoices",
    description="One invoice per shipment, priced as the order was; empty until the first part ships.",
    responses={403: FORBIDDEN, 404: NOT_YOURS, **FULFILLMENT_UPSTREAM},
)
async def list_order_invoices(
    marketplace_order_id: MarketplaceOrderId,
    partner_id: ShipmentsPartner,
    repository: ReadRepository,
    fulfillment_api: Fulfillment,
) -> InvoiceListV2:
    return await fulfillment.list_invoices(
        repository=repository,
        fulfillment=fulfillment_api,
        partner_id=partner_id,
        marketplace_order_id=marketplace_order_id,
    )


@router.post(
    "/orders/{marketplace_order_id}/returns",
    status_code=201,
    operation_id="requestReturnV2",
    summary="Ask for a return",
    description="Authorised for goods shipped and not yet returned. The goods come back under "
    "`return_reference`; once received the buyer is credited and, with a `return.credited` webhook "
    "subscription, you are told. The `Idempotency-Key` makes a retry replay the first answer.",
    responses={
        201: {"description": "Authorised: send the goods back under `return_reference`."},
        403: FORBIDDEN,
        404: NOT_YOURS,
        409: problem_doc("The same request (this Idempotency-Key) is still being taken in; see Retry-After."),
        422: problem_doc(
            "A seller SKU not on the order, more than was shipped and not yet returned, nothing shipped yet, "
            "or the key reused with another body; `errors` names each field."
        ),
        **FULFILLMENT_UPSTREAM,
    },
)
async def request_return(
    marketplace_order_id: MarketplaceOrderId,
    body: ReturnCreateV2,
    partner_id: WritingPartner,
    idempotency_key: IdempotencyKeyHeader,
    repository: ReadRepository,
    fulfillment_api: Fulfillment,
) -> ReturnV2:
    return await fulfillment.request_return(
        repository=repository,
        fulfillment=fulfillment_api,
        partner_id=partner_id,
        marketplace_order_id=marketplace_order_id,
        body=body,
        key=idempotency_key,
    )
