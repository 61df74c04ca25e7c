"""HTTP only, for billing: invoices per shipment and credit memos per return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from contracts import CreditMemo, Invoice
from contracts.scopes import ERP_READ, ERP_WRITE
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.openapi import problem_doc
from system_apis.erp import billing
from system_apis.erp.backend import ErpBackend
from system_apis.erp.backend.reference import ReferenceErpBackend
from system_apis.erp.quota import enforce_call_quota
from system_apis.erp.schemas import CreditMemoCreate, CreditMemoList, InvoiceCreate, InvoiceList


async def _backend(session: SessionDep) -> ErpBackend:
    return ReferenceErpBackend(session)


Backend = Annotated[ErpBackend, Depends(_backend)]
ErpRead = Annotated[Principal, require(ERP_READ)]
ErpWrite = Annotated[Principal, require(ERP_WRITE)]
OrderReference = Annotated[
    str, Query(min_length=1, max_length=100, description="The sales order's external reference", examples=["ord_0001"])
]
_REFUSED = problem_doc(
    "Nothing booked: a SKU not on the sales order, a quantity not in its whole unit, or more than is open "
    "(ordered and not invoiced; invoiced and not credited); `errors` names each line. Or the order is cancelled."
)

router = APIRouter(
    prefix="/v1",
    tags=["erp billing"],
    dependencies=[Depends(enforce_call_quota)],
    responses={429: problem_doc("Over the ERP's call quota (calls per second); send it again after Retry-After.")},
)


@router.post(
    "/invoices",
    status_code=201,
    operation_id="createInvoice",
    responses={
        200: {"model": Invoice, "description": "This shipment was invoiced before: the existing invoice."},
        404: problem_doc("No sales order with this external reference."),
        409: problem_doc("The shipment was invoiced with another order or other lines, or is being invoiced now."),
        422: _REFUSED,
    },
)
async def create_invoice(body: InvoiceCreate, response: Response, backend: Backend, _: ErpWrite) -> Invoice:
    """Invoice what one shipment delivered, at the sales order's prices; once per shipment id."""
    invoice, created = await billing.invoice_shipment(backend=backend, request=body)
    if not created:
        response.status_code = 200
    return invoice


@router.get("/invoices/{invoice_number}", operation_id="getInvoice", responses={404: problem_doc("No such invoice.")})
async def get_invoice(
    invoice_number: Annotated[str, Path(min_length=1, max_length=32, examples=["INV-000001"])],
    backend: Backend,
    _: ErpRead,
) -> Invoice:
    return await billing.get_invoice(backend=backend, number=invoice_number)


@router.get("/invoices", operation_id="findInvoices")
async def find_invoices(order_reference: OrderReference, backend: Backend, _: ErpRead) -> InvoiceList:
    """The invoices of one sales order, oldest first (none for an unknown reference)."""
    return InvoiceList(items=await billing.find_invoices(backend=backend, order_reference=order_reference))


@router.post(
    "/credit-memos",
    status_code=201,
    operation_id="createCreditMemo",
    responses={
        200: {"model": CreditMemo, "description": "This return was credited before: the existing credit memo."},
        404: problem_doc("No sales order with this external reference."),
        409: problem_doc("The return was credited with another order or other lines, or is being credited now."),
        422: _REFUSED,
    },
)
async def create_credit_memo(body: CreditMemoCreate, response: Response, backend: Backend, _: ErpWrite) -> CreditMemo:
    """Credit what one return sent back, at the prices it was invoiced at; once per return id."""
    memo, created = await billing.credit_return(backend=backend, request=body)
    if not created:
        response.status_code = 200
    return memo


@router.get("/credit-memos", operation_id="findCreditMemos")
async def find_credit_memos(order_reference: OrderReference, backend: Backend, _: ErpRead) -> CreditMemoList:
    """The credit memos of one sales order, oldest first (none for an unknown reference)."""
    return CreditMemoList(items=await billing.find_credit_memos(backend=backend, order_reference=order_reference))
