"""Version 1 of the 3PL API: fulfilment requests, ASNs, return receipts, stock counts. HTTP only:
parse, call one service function, answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from contracts import FulfillmentRequestStatus
from experience_apis.fulfillment_partners import service
from experience_apis.fulfillment_partners.dependencies import (
    FORBIDDEN,
    UPSTREAM,
    Fulfillment,
    Inventory,
    RequestReader,
    ReturnsReceiver,
    Shipper,
    StockCounter,
)
from experience_apis.fulfillment_partners.schemas import (
    AsnAccepted,
    AsnCreate,
    AsnRead,
    FulfillmentRequestList,
    FulfillmentRequestRead,
    ReturnReceiptAccepted,
    ReturnReceiptCreate,
    StockSnapshotCreate,
    StockSnapshotReport,
)
from service_kit.idempotency import IdempotencyKeyHeader
from service_kit.openapi import problem_doc

router = APIRouter(prefix="/v1", tags=["fulfillment_partners"])

_ID = r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"
RequestId = Annotated[str, Path(min_length=1, max_length=64, pattern=_ID, examples=["fr_01JEXAMPLE"])]
AsnNumber = Annotated[
    str, Path(min_length=1, max_length=64, pattern=_ID, description="Your ASN number", examples=["ASN-2026-0001"])
]
KEYED_CONFLICT = problem_doc("The same request (this Idempotency-Key) is still being taken in; see Retry-After.")


@router.get(
    "/fulfillment-requests",
    operation_id="listFulfillmentRequests",
    summary="Your fulfilment requests",
    responses={403: FORBIDDEN, **UPSTREAM},
)
async def list_fulfillment_requests(
    account: RequestReader,
    fulfillment: Fulfillment,
    status: FulfillmentRequestStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> FulfillmentRequestList:
    """What you are asked to ship from your warehouse, oldest first, with what you shipped of each
    line; `status=open` for what is still to ship."""
    return await service.list_requests(
        fulfillment=fulfillment, account=account, status=status, limit=limit, offset=offset
    )


@router.get(
    "/fulfillment-requests/{request_id}",
    operation_id="getFulfillmentRequest",
    summary="A fulfilment request",
    responses={403: FORBIDDEN, 404: problem_doc("No fulfilment request of yours with this id."), **UPSTREAM},
)
async def get_fulfillment_request(
    request_id: RequestId, account: RequestReader, fulfillment: Fulfillment
) -> FulfillmentRequestRead:
    return await service.get_request(fulfillment=fulfillment, account=account, request_id=request_id)


@router.post(
    "/shipments",
    status_code=202,
    operation_id="postShipmentNotice",
    summary="Confirm a shipment (ASN)",
    description="One ASN per parcel: a request may ship in parts. Each item names the request's `line`; its "
    "`qty` may not exceed what is left to ship of that line. The `Idempotency-Key` makes a retry replay the "
    "first answer; the same key with another body is a 422. Nothing is recorded when the notice is refused.",
    responses={
        202: {
            "description": "Recorded; the invoice and the buyer's notice follow. Follow it at `status_url`.",
            "headers": {"Location": {"description": "The shipment's status URL.", "schema": {"type": "string"}}},
        },
        403: FORBIDDEN,
        404: problem_doc("No fulfilment request of yours with this `request_id`."),
        409: KEYED_CONFLICT,
        422: problem_doc(
            "A line not on the request, a quantity above what is left to ship, an `asn_number` already used "
            "for another shipment, or the key reused with another body; `errors` names each field."
        ),
        **UPSTREAM,
    },
)
async def post_shipment_notice(
    body: AsnCreate,
    account: Shipper,
    idempotency_key: IdempotencyKeyHeader,
    fulfillment: Fulfillment,
    response: Response,
) -> AsnAccepted:
    accepted = await service.confirm_shipment(fulfillment=fulfillment, account=account, asn=body, key=idempotency_key)
    response.headers["Location"] = accepted.status_url
    return accepted


@router.get(
    "/shipments/{asn}",
    operation_id="getShipmentNotice",
    summary="A shipment you confirmed, and its status",
    responses={403: FORBIDDEN, 404: problem_doc("No shipment of yours with this ASN number."), **UPSTREAM},
)
async def get_shipment_notice(asn: AsnNumber, account: Shipper, fulfillment: Fulfillment) -> AsnRead:
    return await service.get_shipment(fulfillment=fulfillment, account=account, asn_number=asn)


@router.post(
    "/return-receipts",
    status_code=202,
    operation_id="postReturnReceipt",
    summary="Report returned goods received",
    description="For an authorised return (its `rma_number`), at your warehouse. Sellable goods go back on "
    "hand; the buyer is credited. The `Idempotency-Key` makes a retry replay the first answer.",
    responses={
        202: {"description": "Recorded; the credit memo follows."},
        403: FORBIDDEN,
        404: problem_doc("No authorised return with this `rma_number` comes back to you."),
        409: KEYED_CONFLICT,
        422: problem_doc(
            "A line or quantity the return did not authorise, or the key reused with another body; "
            "`errors` names each field."
        ),
        **UPSTREAM,
    },
)
async def post_return_receipt(
    body: ReturnReceiptCreate, account: ReturnsReceiver, idempotency_key: IdempotencyKeyHeader, fulfillment: Fulfillment
) -> ReturnReceiptAccepted:
    return await service.receive_return(fulfillment=fulfillment, account=account, receipt=body, key=idempotency_key)


@router.post(
    "/stock-snapshots",
    operation_id="postStockSnapshot",
    summary="Report your counted stock",
    description="Compared at once with our records for your warehouse: the answer is the drift per SKU, and "
    "drift is followed up by our inventory team. Sending the same count again compares it again.",
    responses={
        403: FORBIDDEN,
        422: problem_doc("A SKU counted twice or a negative count; `errors` names it."),
        **UPSTREAM,
    },
)
async def post_stock_snapshot(
    body: StockSnapshotCreate, account: StockCounter, inventory: Inventory
) -> StockSnapshotReport:
    return await service.compare_stock(inventory=inventory, account=account, snapshot=body)
