"""HTTP only: parse, call one service function, return a schema."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from contracts import (
    Customer,
    Product,
    SalesOrder,
    SalesOrderBatchCreate,
    SalesOrderBatchResult,
    SalesOrderCreate,
)
from contracts.common import Sku
from contracts.scopes import ERP_READ, ERP_WRITE
from service_kit.auth import Principal, require
from service_kit.db import SessionDep
from service_kit.openapi import problem_doc
from system_apis.erp import batch, masterdata, service
from system_apis.erp.backend import ErpBackend
from system_apis.erp.backend.reference import ReferenceErpBackend
from system_apis.erp.quota import enforce_call_quota
from system_apis.erp.schemas import (
    CustomerTerms,
    CustomerTermsList,
    CustomerUpdate,
    ItemStockPolicy,
    ItemStockPolicyList,
    ItemUpdate,
    PriceListList,
    PriceQuoteCreate,
    PriceQuoteResult,
    ProductList,
    SalesOrderList,
)


async def _backend(session: SessionDep) -> ErpBackend:
    # async: FastAPI runs a plain def dependency in its thread pool, a thread hand-off per call.
    return ReferenceErpBackend(session)


Backend = Annotated[ErpBackend, Depends(_backend)]
ErpRead = Annotated[Principal, require(ERP_READ)]
ErpWrite = Annotated[Principal, require(ERP_WRITE)]
SkuPath = Annotated[str, Path(min_length=1, max_length=64, examples=["WIDGET-BLUE"])]
SkuQuery = Annotated[list[Sku], Query(min_length=1, max_length=100, description="One or more SKUs (at most 100)")]
CustomerId = Annotated[str, Path(min_length=1, max_length=64, examples=["C-2001"])]
OrderNumber = Annotated[str, Path(min_length=1, max_length=32, examples=["SO-000001"])]
ExternalReference = Annotated[str, Query(min_length=1, max_length=100, examples=["ord_0001"])]

router = APIRouter(
    prefix="/v1",
    tags=["erp"],
    dependencies=[Depends(enforce_call_quota)],
    responses={429: problem_doc("Over the ERP's call quota (calls per second); send it again after Retry-After.")},
)


@router.get("/items/{sku}", operation_id="getItem")
async def get_item(sku: SkuPath, backend: Backend, _: ErpRead) -> Product:
    return await service.get_product(backend=backend, sku=sku)


@router.get("/items", operation_id="listItems")
async def list_items(sku: SkuQuery, backend: Backend, _: ErpRead) -> ProductList:
    """The items among the SKUs asked for that the ERP knows; unknown SKUs are left out."""
    return ProductList(items=await service.find_products(backend=backend, skus=sku))


@router.patch(
    "/items/{sku}",
    operation_id="changeItem",
    responses={404: problem_doc("No item with this SKU."), 422: problem_doc("Safety stock not in whole EA.")},
)
async def change_item(sku: SkuPath, body: ItemUpdate, backend: Backend, _: ErpWrite) -> ItemStockPolicy:
    """Change an item's status (active, discontinued) and/or safety stock; a change is announced
    as `com.interchange.item.changed.v1`. Sending the same values again changes nothing."""
    return await service.change_item(backend=backend, sku=sku, update=body)


@router.get("/item-stock-policies", operation_id="listItemStockPolicies")
async def list_stock_policies(
    backend: Backend,
    _: ErpRead,
    after: Annotated[Sku | None, Query(description="The `next_after` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page")] = 100,
) -> ItemStockPolicyList:
    """Every item's status and safety stock with its version, page by page in SKU order."""
    return await service.stock_policies(backend=backend, after=after, limit=limit)


@router.get("/customers/{customer_id}", operation_id="getCustomer")
async def get_customer(customer_id: CustomerId, backend: Backend, _: ErpRead) -> Customer:
    return await service.get_customer(backend=backend, customer_id=customer_id)


@router.post("/price-quotes", operation_id="quotePrices")
async def quote_prices(body: PriceQuoteCreate, backend: Backend, _: ErpRead) -> PriceQuoteResult:
    """Price the lines with the customer's price list applied. 422 names an unknown customer or SKU."""
    return await service.quote_prices(backend=backend, request=body)


@router.post(
    "/sales-orders",
    status_code=201,
    operation_id="createSalesOrder",
    responses={
        200: {"model": SalesOrder, "description": "This external reference was booked before: the existing order."},
        409: problem_doc(
            "The external reference is booked with other customer, currency or lines, or another request "
            "is booking it right now."
        ),
    },
)
async def create_sales_order(body: SalesOrderCreate, response: Response, backend: Backend, _: ErpWrite) -> SalesOrder:
    """Book a sales order, once per external reference."""
    order, created = await service.place_sales_order(backend=backend, order=body)
    if not created:
        response.status_code = 200
    return order


@router.get("/sales-orders/{number}", operation_id="getSalesOrder")
async def get_sales_order(number: OrderNumber, backend: Backend, _: ErpRead) -> SalesOrder:
    return await service.get_sales_order(backend=backend, number=number)


@router.get("/sales-orders", operation_id="findSalesOrders")
async def find_sales_orders(external_reference: ExternalReference, backend: Backend, _: ErpRead) -> SalesOrderList:
    items = await service.find_sales_orders(backend=backend, external_reference=external_reference)
    return SalesOrderList(items=items)


@router.post("/sales-orders/{number}/cancel", operation_id="cancelSalesOrder")
async def cancel_sales_order(number: OrderNumber, backend: Backend, _: ErpWrite) -> SalesOrder:
    """Cancel the order; cancelling it again answers the cancelled order."""
    return await service.cancel_sales_order(backend=backend, number=number)


@router.post(
    "/sales-order-batches",
    operation_id="createSalesOrderBatch",
    responses={422: problem_doc("The batch itself is malformed (no entries, more than 100, or an unreadable entry).")},
)
async def create_sales_order_batch(body: SalesOrderBatchCreate, backend: Backend, _: ErpWrite) -> SalesOrderBatchResult:
    """Book up to 100 sales orders in one call, each once per external reference and on its own:
    every entry gets its outcome (created, existing, refused with the fields to fix, conflict),
    and a refused entry books nothing while the others are booked."""
    return SalesOrderBatchResult(results=await batch.place_sales_orders(backend=backend, entries=body.entries))


@router.get("/customer-terms", operation_id="listCustomerTerms")
async def list_customer_terms(
    backend: Backend,
    _: ErpRead,
    after: Annotated[str | None, Query(max_length=64, description="The `next_after` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Customers per page")] = 100,
) -> CustomerTermsList:
    """Every customer with its price list and the version of its terms, page by page by id: the
    snapshot a copy starts from before following `com.interchange.customer.changed.v1`."""
    return await masterdata.list_customer_terms(backend=backend, after=after, limit=limit)


@router.get("/customer-terms/{customer_id}", operation_id="getCustomerTerms")
async def get_customer_terms(customer_id: CustomerId, backend: Backend, _: ErpRead) -> CustomerTerms:
    return await masterdata.get_customer_terms(backend=backend, customer_id=customer_id)


@router.patch(
    "/customers/{customer_id}",
    operation_id="changeCustomer",
    responses={404: problem_doc("No customer with this id."), 422: problem_doc("A credit limit below one cent.")},
)
async def change_customer(
    customer_id: CustomerId, body: CustomerUpdate, backend: Backend, _: ErpWrite
) -> CustomerTerms:
    """Block or unblock a customer, or change its credit limit; a change is announced as
    `com.interchange.customer.changed.v1`. Sending the same values again changes nothing."""
    return await masterdata.change_customer(backend=backend, customer_id=customer_id, update=body)


@router.get("/price-lists", operation_id="listPriceLists")
async def list_price_lists(
    backend: Backend,
    _: ErpRead,
    code: Annotated[list[str] | None, Query(max_length=20, description="Only these price lists")] = None,
) -> PriceListList:
    """Every item's net price on each price list (`LIST`: list prices), with the list's version:
    the snapshot a copy starts from before following `com.interchange.pricelist.changed.v1`."""
    return await masterdata.list_price_lists(backend=backend, codes=code)
