"""Version 1 of the B2B API: availability by warehouse, invoices and credit memos. HTTP only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from experience_apis.b2b import fulfilment
from experience_apis.b2b.fulfilment_clients import FulfillmentApi, InventoryApi
from experience_apis.b2b.routes import FORBIDDEN, CatalogReader, OrderId, OrderReader, Orders
from experience_apis.b2b.schemas_fulfilment import Availability, CreditMemoList, InvoiceList
from service_kit.app import upstream
from service_kit.openapi import problem_doc

router = APIRouter(prefix="/v1", tags=["b2b"])

UPSTREAM: dict[int | str, dict[str, Any]] = {
    502: problem_doc("A service behind this API failed; send the request again later."),
    503: problem_doc("A system behind this API is unavailable for now; send the request again after Retry-After."),
    504: problem_doc("A service behind this API did not answer in time; send it again later."),
}
NOT_YOURS = problem_doc("No purchase order of yours with this id.")


async def _inventory(request: Request) -> InventoryApi:
    return InventoryApi(upstream(request.app, "inventory"))


async def _fulfillment(request: Request) -> FulfillmentApi:
    return FulfillmentApi(upstream(request.app, "fulfillment"))


def _channel(request: Request) -> str:
    return str(request.app.state.settings.channel)


Inventory = Annotated[InventoryApi, Depends(_inventory)]
Fulfillment = Annotated[FulfillmentApi, Depends(_fulfillment)]
Channel = Annotated[str, Depends(_channel)]
SkuPath = Annotated[str, Path(min_length=1, max_length=64, examples=["WIDGET-BLUE"])]


@router.get(
    "/catalog/{sku}/availability",
    operation_id="getCatalogAvailability",
    summary="What you may buy now, by warehouse",
    responses={403: FORBIDDEN, 404: problem_doc("No stock of this SKU is known in any warehouse."), **UPSTREAM},
)
async def get_availability(sku: SkuPath, _: CatalogReader, inventory: Inventory, channel: Channel) -> Availability:
    """Your channel's share of the SKU's free stock (on hand less reserved and safety stock), in all
    and per warehouse: a purchase order that may not split shipments is served from one warehouse."""
    return await fulfilment.availability(inventory=inventory, channel=channel, sku=sku)


@router.get(
    "/purchase-orders/{order_id}/invoices",
    operation_id="listPurchaseOrderInvoices",
    summary="A purchase order's invoices",
    responses={403: FORBIDDEN, 404: NOT_YOURS, **UPSTREAM},
)
async def list_invoices(
    order_id: OrderId, account: OrderReader, orders: Orders, fulfillment: Fulfillment, channel: Channel
) -> InvoiceList:
    """The ERP's invoices, one per shipment, as issued; empty until something has shipped."""
    return await fulfilment.invoices(
        orders=orders, fulfillment=fulfillment, account=account, channel=channel, order_id=order_id
    )


@router.get(
    "/purchase-orders/{order_id}/credit-memos",
    operation_id="listPurchaseOrderCreditMemos",
    summary="A purchase order's credit memos",
    responses={403: FORBIDDEN, 404: NOT_YOURS, **UPSTREAM},
)
async def list_credit_memos(
    order_id: OrderId, account: OrderReader, orders: Orders, fulfillment: Fulfillment, channel: Channel
) -> CreditMemoList:
    """The ERP's credit memos for your returns of this order, once the goods are received back."""
    return await fulfilment.credit_memos(
        orders=orders, fulfillment=fulfillment, account=account, channel=channel, order_id=order_id
    )
