"""The fulfilment partners' logic: who the partner is (the warehouse it operates), its fulfilment
requests, ASNs and return receipts through the fulfilment process API, and its stock counts
through the inventory process API. The partner is always the token's partner."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import FulfillmentRequestStatus
from experience_apis.fulfillment_partners import mapping, repository
from experience_apis.fulfillment_partners.clients import FulfillmentApi, InventoryApi
from experience_apis.fulfillment_partners.models import FulfillmentPartner
from experience_apis.fulfillment_partners.schemas import (
    AsnAccepted,
    AsnCreate,
    AsnRead,
    FulfillmentRequestList,
    FulfillmentRequestRead,
    ReturnReceiptAccepted,
    ReturnReceiptCreate,
    StockDrift,
    StockSnapshotCreate,
    StockSnapshotReport,
)
from service_kit.errors import BusinessRuleViolation, Conflict, Forbidden, NotFound, UnprocessableContent

#: Where the partner reads its objects, through the gateway.
API_PREFIX = "/fulfillment_partners/v1"


async def partner(*, session: AsyncSession, partner_id: str) -> FulfillmentPartner:
    found = await repository.get_partner(session, partner_id=partner_id)
    if found is None:
        raise Forbidden("This client is not set up as a fulfilment partner; ask your account manager to set it up.")
    return found


def idempotency_key(*, partner_id: str, key: str) -> str:
    """The key the fulfilment API sees: the partner's own key, kept apart from every other partner's."""
    return f"3pl:{partner_id}:{key}"


async def list_requests(
    *,
    fulfillment: FulfillmentApi,
    account: FulfillmentPartner,
    status: FulfillmentRequestStatus | None,
    limit: int,
    offset: int,
) -> FulfillmentRequestList:
    found, next_offset = await fulfillment.list_requests(
        partner_id=account.partner_id, status=status, limit=limit, offset=offset
    )
    return FulfillmentRequestList(items=[mapping.request_in_dialect(r) for r in found], next_offset=next_offset)


def _no_request(request_id: str) -> NotFound:
    return NotFound(
        f"No fulfilment request {request_id!r} of yours; list them at {API_PREFIX}/fulfillment-requests.",
        errors=[{"pointer": "#/request_id", "in": "body", "detail": "Not a fulfilment request of yours."}],
    )


async def get_request(
    *, fulfillment: FulfillmentApi, account: FulfillmentPartner, request_id: str
) -> FulfillmentRequestRead:
    found = await fulfillment.get_request(request_id=request_id, partner_id=account.partner_id)
    if found is None:  # another partner's request is not there either
        raise NotFound(
            f"No fulfilment request {request_id!r} of yours; list them at {API_PREFIX}/fulfillment-requests."
        )
    return mapping.request_in_dialect(found)


async def confirm_shipment(
    *, fulfillment: FulfillmentApi, account: FulfillmentPartner, asn: AsnCreate, key: str
) -> AsnAccepted:
    """The ASN as a canonical shipment of its request (whose order and warehouse it takes); the
    fulfilment process checks the lines and quantities and writes nothing when it refuses."""
    request = await fulfillment.get_request(request_id=asn.request_id, partner_id=account.partner_id)
    if request is None:
        raise _no_request(asn.request_id)
    try:
        accepted = await fulfillment.confirm_shipment(
            shipment=mapping.shipment_of(asn, request=request, partner_id=account.partner_id),
            request_id=asn.request_id,
            partner_id=account.partner_id,
            idempotency_key=idempotency_key(partner_id=account.partner_id, key=key),
        )
    except (BusinessRuleViolation, UnprocessableContent, Conflict) as exc:
        raise mapping.in_dialect(exc, partner_id=account.partner_id) from exc
    if accepted is None:  # the request went away (or was never the partner's) between the two calls
        raise _no_request(asn.request_id)
    return AsnAccepted(
        asn_number=asn.asn_number, status=accepted.status, status_url=f"{API_PREFIX}/shipments/{asn.asn_number}"
    )


async def get_shipment(*, fulfillment: FulfillmentApi, account: FulfillmentPartner, asn_number: str) -> AsnRead:
    shipment_id = mapping.shipment_id_of(partner_id=account.partner_id, asn_number=asn_number)
    found = await fulfillment.get_shipment(shipment_id=shipment_id, partner_id=account.partner_id)
    if found is None or found.partner_id not in (None, account.partner_id):
        raise NotFound(f"No shipment notice {asn_number!r} of yours.")
    return mapping.asn_in_dialect(found, partner_id=account.partner_id)


async def receive_return(
    *, fulfillment: FulfillmentApi, account: FulfillmentPartner, receipt: ReturnReceiptCreate, key: str
) -> ReturnReceiptAccepted:
    """Returned goods received at the partner's own warehouse."""
    try:
        accepted = await fulfillment.receive_return(
            return_id=receipt.rma_number,
            receipt=mapping.receipt_of(receipt, warehouse=account.warehouse),
            partner_id=account.partner_id,
            idempotency_key=idempotency_key(partner_id=account.partner_id, key=key),
        )
    except (BusinessRuleViolation, UnprocessableContent, Conflict) as exc:
        raise mapping.in_dialect(exc, partner_id=account.partner_id) from exc
    if accepted is None:
        raise NotFound(
            f"No return {receipt.rma_number!r} is authorised to come back to you.",
            errors=[{"pointer": "#/rma_number", "in": "body", "detail": "No such authorised return of yours."}],
        )
    return ReturnReceiptAccepted(rma_number=receipt.rma_number, status=accepted.status)


async def compare_stock(
    *, inventory: InventoryApi, account: FulfillmentPartner, snapshot: StockSnapshotCreate
) -> StockSnapshotReport:
    report = await inventory.compare_partner_stock(
        partner_id=account.partner_id,
        warehouse=account.warehouse,
        counted_at=snapshot.counted_at,
        counts={item.sku: item.qty for item in snapshot.items},
    )
    return StockSnapshotReport(
        warehouse=report.warehouse,
        counted_at=report.counted_at,
        checked_at=report.checked_at,
        items=[StockDrift(sku=i.sku, counted=i.counted, expected=i.wms_on_hand, drift=i.drift) for i in report.items],
        drifted=report.drifted,
        uncounted=report.uncounted,
    )
