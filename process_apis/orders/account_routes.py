"""``GET /v1/accounts/{customer_id}/prices`` and ``/credit``: a customer account's own prices and
credit headroom, for the channels that show them to their buyers (scope ``orders:read``). HTTP
only; the logic is in accounts.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from contracts.scopes import ORDERS_READ
from process_apis.orders import accounts
from process_apis.orders.clients import ErpClient
from process_apis.orders.schemas_accounts import AccountCredit, AccountPrices
from service_kit.app import upstream
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.openapi import problem_doc

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])
OrdersRead = Annotated[Principal, require(ORDERS_READ)]
CustomerId = Annotated[str, Path(min_length=1, max_length=64, examples=["C-2001"])]
NO_ACCOUNT: dict[int | str, dict[str, Any]] = {
    404: problem_doc("No such customer account in the ERP."),
    503: problem_doc(
        "The account's master data is not loaded yet (start-up) and the ERP cannot be asked now; "
        "send the request again after the Retry-After seconds."
    ),
}


@router.get(
    "/{customer_id}/prices", operation_id="getAccountPrices", summary="An account's prices", responses=NO_ACCOUNT
)
async def get_account_prices(customer_id: CustomerId, _: OrdersRead, request: Request) -> AccountPrices:
    """Every item's net price on the account's ERP price list (as the order's pricing uses it)."""
    erp = ErpClient(upstream(request.app, "erp"))
    return await accounts.account_prices(master=request.app.state.master_data, erp=erp, customer_id=customer_id)


@router.get(
    "/{customer_id}/credit", operation_id="getAccountCredit", summary="An account's credit", responses=NO_ACCOUNT
)
async def get_account_credit(
    customer_id: CustomerId, _: OrdersRead, session: SessionDep, request: Request
) -> AccountCredit:
    """The credit limit, what open orders hold of it and the headroom left (as the credit check counts)."""
    erp = ErpClient(upstream(request.app, "erp"))
    return await accounts.account_credit(
        master=request.app.state.master_data, erp=erp, session=session, customer_id=customer_id
    )
