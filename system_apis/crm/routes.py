"""HTTP only: parse, call one service function, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from contracts import Customer
from contracts.scopes import CRM_READ, CRM_WRITE
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.openapi import problem_doc
from system_apis.crm import batch, notices, service
from system_apis.crm.backend import CrmBackend
from system_apis.crm.backend.reference import ReferenceCrmBackend
from system_apis.crm.schemas import (
    Activity,
    ActivityBatchCreate,
    ActivityBatchResult,
    ActivityCreate,
    ActivityList,
    CustomerNotice,
    CustomerNoticeCreate,
    CustomerNoticeList,
)


async def _backend(session: SessionDep) -> CrmBackend:
    # async: FastAPI runs a plain def dependency in its thread pool, a thread hand-off per call.
    return ReferenceCrmBackend(session)


Backend = Annotated[CrmBackend, Depends(_backend)]
CrmRead = Annotated[Principal, require(CRM_READ)]
CrmWrite = Annotated[Principal, require(CRM_WRITE)]
CustomerId = Annotated[str, Path(min_length=1, max_length=64, examples=["C-1001"])]

router = APIRouter(prefix="/v1", tags=["crm"])


@router.get("/customers/{customer_id}", operation_id="getCustomer")
async def get_customer(customer_id: CustomerId, backend: Backend, _: CrmRead) -> Customer:
    return await service.get_customer(backend=backend, customer_id=customer_id)


@router.get("/customers/{customer_id}/activities", operation_id="listCustomerActivities")
async def list_activities(customer_id: CustomerId, backend: Backend, _: CrmRead) -> ActivityList:
    items = await service.customer_timeline(backend=backend, customer_id=customer_id)
    return ActivityList(items=items)


@router.post("/activities", status_code=201, operation_id="recordActivity")
async def record_activity(body: ActivityCreate, backend: Backend, _: CrmWrite) -> Activity:
    return await service.record_activity(backend=backend, activity=body)


@router.post(
    "/activity-batches",
    operation_id="recordActivityBatch",
    responses={422: problem_doc("The batch itself is malformed (no entries, more than 100, or an unreadable entry).")},
)
async def record_activity_batch(body: ActivityBatchCreate, backend: Backend, _: CrmWrite) -> ActivityBatchResult:
    """Record up to 100 activities in one call, each on its own: an entry with a reference is
    recorded once per customer, kind and reference (sent again, it answers the activity recorded
    first: `existing`), and an entry for a customer without a CRM account is refused while the
    others are recorded."""
    return ActivityBatchResult(results=await batch.record_activities(backend=backend, entries=body.entries))


@router.post(
    "/customer-notices",
    status_code=201,
    operation_id="sendCustomerNotice",
    responses={
        200: {"model": CustomerNotice, "description": "This kind and reference was told before: that notice."},
        404: problem_doc("The customer has no CRM account."),
        409: problem_doc("This kind and reference was told to another customer, or is being sent right now."),
    },
)
async def send_customer_notice(
    body: CustomerNoticeCreate, response: Response, backend: Backend, _: CrmWrite
) -> CustomerNotice:
    """Tell a customer (by e-mail to its account's address) that goods shipped or returned goods
    were credited: once per kind and reference; sent again, it answers the first notice."""
    notice, created = await notices.send_notice(backend=backend, notice=body)
    if not created:
        response.status_code = 200
    return notice


@router.get(
    "/customers/{customer_id}/notices",
    operation_id="listCustomerNotices",
    responses={404: problem_doc("No such customer.")},
)
async def list_customer_notices(customer_id: CustomerId, backend: Backend, _: CrmRead) -> CustomerNoticeList:
    """What the customer was told, oldest first."""
    return CustomerNoticeList(items=await notices.list_notices(backend=backend, customer_id=customer_id))
