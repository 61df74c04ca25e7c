"""HTTP only: parse, call one service function, return a schema. Scopes fulfillment:write / read /
admin; a partner's calls (its own token, or a service acting for it) see only what is theirs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel

from contracts.fulfillment import FulfillmentRequest, FulfillmentRequestStatus, ReturnCreate, ReturnReceiptCreate
from contracts.scopes import FULFILLMENT_ADMIN, FULFILLMENT_READ, FULFILLMENT_WRITE
from process_apis.fulfillment import admin, returns, service
from process_apis.fulfillment.schemas import (
    CreditMemoList,
    ExceptionList,
    FulfillmentRequestList,
    InvoiceList,
    ReplayCreate,
    ReplayRead,
    ReturnList,
    ReturnRead,
    ShipmentAccepted,
    ShipmentList,
    ShipmentRead,
    ShipmentSubmit,
)
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.http import PARTNER_HEADER
from service_kit.idempotency import Idempotency, IdempotencyDep
from service_kit.openapi import problem_doc


async def _acting_partner_header(
    partner: Annotated[
        str | None,
        Header(
            alias=PARTNER_HEADER,
            max_length=64,
            description="The partner a service acts for (service tokens only; a partner's own token "
            "always acts as that partner).",
        ),
    ] = None,
) -> None:
    """Declares the header in the contract; ``Principal.acting_partner`` is what is used."""


Write = Annotated[Principal, require(FULFILLMENT_WRITE)]
Read = Annotated[Principal, require(FULFILLMENT_READ)]
Admin = Annotated[Principal, require(FULFILLMENT_ADMIN)]
Ref = Annotated[str, Path(min_length=1, max_length=64)]
#: A shipment or return id (``contracts.fulfillment.ScopedReference``).
ObjectId = Annotated[str, Path(min_length=1, max_length=129)]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=2**62)]
_NOT_YOURS = problem_doc("No such object, or it belongs to another partner.")
_REFUSED = problem_doc("Nothing was recorded: `errors` names each line that cannot be taken and why.")
_CONFLICT = problem_doc("The id is used with other content, or a request with this key is still being processed.")

router = APIRouter(prefix="/v1", tags=["fulfillment"], dependencies=[Depends(_acting_partner_header)])


async def _once(idem: Idempotency, session: Any, status: int, work: Callable[[], Awaitable[BaseModel]]) -> Any:
    """The Idempotency-Key's stored answer, or ``work``'s recorded with it."""
    stored = await idem.start()
    if stored is not None:
        return stored.body
    answer = await work()
    await idem.finish(session, status_code=status, body=answer.model_dump(mode="json"))
    return answer


@router.post(
    "/shipments",
    status_code=202,
    operation_id="submitShipment",
    summary="Confirm a shipment",
    responses={404: _NOT_YOURS, 409: _CONFLICT, 422: _REFUSED},
)
async def submit_shipment(
    body: ShipmentSubmit, principal: Write, idem: IdempotencyDep, session: SessionDep, request: Request
) -> ShipmentAccepted:
    """Validated at once (the request is the partner's, its lines known, no more than is left to
    ship); then the saga records it in the WMS, invoices it in the ERP, announces
    `shipment.confirmed` and notifies the customer. The same shipment id again answers the same."""

    async def work() -> BaseModel:
        return await service.submit_shipment(
            session=session, body=body, partner_id=principal.acting_partner, base_url=str(request.base_url)
        )

    return await _once(idem, session, 202, work)


@router.get(
    "/shipments/{shipment_id}", operation_id="getShipment", summary="Get a shipment", responses={404: _NOT_YOURS}
)
async def get_shipment(shipment_id: ObjectId, principal: Read, session: SessionDep) -> ShipmentRead:
    return await service.get_shipment(session=session, shipment_id=shipment_id, partner_id=principal.acting_partner)


@router.get("/orders/{order_id}/shipments", operation_id="listOrderShipments", responses={404: _NOT_YOURS})
async def order_shipments(order_id: Ref, principal: Read, session: SessionDep) -> ShipmentList:
    return await service.order_shipments(session=session, order_id=order_id, partner_id=principal.acting_partner)


@router.get("/orders/{order_id}/invoices", operation_id="listOrderInvoices", responses={404: _NOT_YOURS})
async def order_invoices(order_id: Ref, principal: Read, session: SessionDep) -> InvoiceList:
    """The ERP's invoices of the order's shipments, as the ERP issued them."""
    return await service.order_invoices(session=session, order_id=order_id, partner_id=principal.acting_partner)


@router.get("/orders/{order_id}/credit-memos", operation_id="listOrderCreditMemos", responses={404: _NOT_YOURS})
async def order_credit_memos(order_id: Ref, principal: Read, session: SessionDep) -> CreditMemoList:
    """The ERP's credit memos of the order's returns, as the ERP issued them: lines, total, currency."""
    return await service.order_credit_memos(session=session, order_id=order_id, partner_id=principal.acting_partner)


@router.get("/orders/{order_id}/returns", operation_id="listOrderReturns", responses={404: _NOT_YOURS})
async def order_returns(order_id: Ref, principal: Read, session: SessionDep) -> ReturnList:
    return await service.order_returns(session=session, order_id=order_id, partner_id=principal.acting_partner)


@router.get("/fulfillment-requests", operation_id="listFulfillmentRequests", summary="Fulfilment requests")
async def list_requests(
    principal: Read,
    session: SessionDep,
    partner_id: Annotated[str | None, Query(max_length=64, description="Internal callers only")] = None,
    status: Annotated[FulfillmentRequestStatus | None, Query()] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> FulfillmentRequestList:
    """The calling partner's requests, oldest first (an internal caller may name a partner)."""
    partner = principal.acting_partner or partner_id
    return await service.list_requests(session=session, partner_id=partner, status=status, limit=limit, offset=offset)


@router.get("/fulfillment-requests/{request_id}", operation_id="getFulfillmentRequest", responses={404: _NOT_YOURS})
async def get_request(
    request_id: Annotated[str, Path(min_length=1, max_length=40)], principal: Read, session: SessionDep
) -> FulfillmentRequest:
    return await service.get_request(session=session, request_id=request_id, partner_id=principal.acting_partner)


@router.post(
    "/returns",
    status_code=201,
    operation_id="createReturn",
    summary="Authorise a return",
    responses={404: _NOT_YOURS, 409: _CONFLICT, 422: _REFUSED},
)
async def create_return(body: ReturnCreate, principal: Write, idem: IdempotencyDep, session: SessionDep) -> ReturnRead:
    """Authorised only for goods shipped and not yet returned."""

    async def work() -> BaseModel:
        return await returns.create_return(session=session, body=body, partner_id=principal.acting_partner)

    return await _once(idem, session, 201, work)


@router.post(
    "/returns/{return_id}/receipts",
    status_code=202,
    operation_id="receiveReturn",
    summary="Returned goods received",
    responses={404: _NOT_YOURS, 409: _CONFLICT, 422: _REFUSED},
)
async def receive_return(
    return_id: ObjectId, body: ReturnReceiptCreate, principal: Write, session: SessionDep
) -> ReturnRead:
    """The saga then receives them in the WMS (sellable ones back on hand), credits them in the ERP,
    announces `return.credited` and notifies the customer. The same receipt again answers the same."""
    return await returns.receive_return(
        session=session, return_id=return_id, body=body, partner_id=principal.acting_partner
    )


@router.get("/returns/{return_id}", operation_id="getReturn", responses={404: _NOT_YOURS})
async def get_return(return_id: ObjectId, principal: Read, session: SessionDep) -> ReturnRead:
    return await returns.get_return(session=session, return_id=return_id, partner_id=principal.acting_partner)


admin_router = APIRouter(prefix="/v1/admin", tags=["fulfillment-admin"])


def _actor(principal: Principal) -> str:
    return principal.client_id + (f" for {principal.on_behalf_of}" if principal.on_behalf_of else "")


@admin_router.get("/exceptions", operation_id="listFulfillmentExceptions", summary="The exception queue")
async def list_exceptions(_: Admin, session: SessionDep, limit: Limit = 50, offset: Offset = 0) -> ExceptionList:
    """Parked shipments, returns and released orders, oldest first, each with its reason."""
    return await admin.exception_queue(session=session, limit=limit, offset=offset)


@admin_router.post(
    "/exceptions/{exception_id}/replay",
    status_code=202,
    operation_id="replayFulfillmentException",
    summary="Replay a parked shipment, return or order",
    responses={404: problem_doc("No such exception."), 409: _CONFLICT},
)
async def replay(
    exception_id: Annotated[str, Path(min_length=3, max_length=140, examples=["shipment:ASN-1"])],
    body: ReplayCreate,
    principal: Admin,
    idem: IdempotencyDep,
    session: SessionDep,
    response: Response,
) -> ReplayRead:
    """The worker runs it again from the step that failed; audited, its outcome recorded when that step has run."""
    return await admin.replay(
        session=session, exception_id=exception_id, actor=_actor(principal), note=body.note, idem=idem
    )


__all__ = ["admin_router", "router"]
