"""The shop's admin API (``/admin/api/2024-01``), in its own dialect. HTTP only: the storage and
the webhook delivery do the work. Orders are answered at once; their webhook goes out after the
answer (a background task), retried there."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request

from reference_partners.storefront_admin.delivery import deliver
from reference_partners.storefront_admin.schemas import FulfillmentCreate, InventoryLevelSet, OrderCancel, OrderCreate
from reference_partners.storefront_admin.settings import ShopSettings
from reference_partners.storefront_admin.storage import Store, now
from service_kit.errors import BadRequest, NotFound, Unauthorized, UnprocessableContent

API_PREFIX = "/admin/api/2024-01"


def _settings(request: Request) -> ShopSettings:
    settings: ShopSettings = request.app.state.settings
    return settings


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def check_access_token(
    request: Request, token: Annotated[str | None, Header(alias="X-Storefront-Access-Token")] = None
) -> None:
    expected = _settings(request).access_token.get_secret_value()
    if expected and not hmac.compare_digest(expected.encode(), (token or "").encode()):
        raise Unauthorized(
            "Send the shop's admin access token in X-Storefront-Access-Token.",
            headers={"WWW-Authenticate": 'Token realm="storefront-admin", header="X-Storefront-Access-Token"'},
        )


router = APIRouter(prefix=API_PREFIX, tags=["storefront admin"], dependencies=[Depends(check_access_token)])


@router.post("/inventory_levels/set.json")
def set_inventory_level(request: Request, body: InventoryLevelSet) -> dict[str, Any]:
    level = _store(request).set_level(inventory_item_id=body.inventory_item_id, available=body.available)
    return {"inventory_level": level}


def _item_ids(raw: str | None) -> list[int] | None:
    if raw is None:
        return None
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise BadRequest(
            "inventory_item_ids is a comma-separated list of item ids (integers), e.g. 44001,44002."
        ) from None


@router.get("/inventory_levels.json")
def list_inventory_levels(
    request: Request, inventory_item_ids: Annotated[str | None, Query(max_length=2000)] = None
) -> dict[str, Any]:
    store = _store(request)
    levels = store.levels(inventory_item_ids=_item_ids(inventory_item_ids))
    for level in levels:
        level["history"] = store.level_history(inventory_item_id=level["inventory_item_id"])
    return {"inventory_levels": levels}


@router.post("/orders.json", status_code=201)
def create_order(request: Request, body: OrderCreate, background: BackgroundTasks) -> dict[str, Any]:
    settings, store = _settings(request), _store(request)
    at = now()
    new = body.order.model_dump(exclude_none=True)
    new |= {
        "currency": body.order.currency or settings.currency,
        "created_at": at,
        "updated_at": at,
        "cancelled_at": None,
        "cancel_reason": None,
    }
    order = store.add_order(new)
    background.add_task(
        deliver, http=request.app.state.http, store=store, settings=settings, topic="orders/create", order=order
    )
    return {"order": order}


@router.get("/orders.json")
def list_orders(request: Request) -> dict[str, Any]:
    return {"orders": _store(request).orders()}


@router.get("/orders/{order_id}.json")
def get_order(request: Request, order_id: int) -> dict[str, Any]:
    order = _store(request).order(order_id)
    if order is None:
        raise NotFound(f"The shop has no order {order_id}: GET {API_PREFIX}/orders.json lists them.")
    return {"order": order}


@router.post("/orders/{order_id}/cancel.json")
def cancel_order(
    request: Request, order_id: int, background: BackgroundTasks, body: OrderCancel | None = None
) -> dict[str, Any]:
    """Cancelling an order already cancelled changes nothing and sends nothing."""
    settings, store = _settings(request), _store(request)
    order, cancelled = store.cancel_order(order_id=order_id, reason=(body or OrderCancel()).reason)
    if order is None:
        raise NotFound(f"The shop has no order {order_id}: GET {API_PREFIX}/orders.json lists them.")
    if cancelled:
        background.add_task(
            deliver, http=request.app.state.http, store=store, settings=settings, topic="orders/cancelled", order=order
        )
    return {"order": order}


def _unknown_order(order_id: int) -> NotFound:
    return NotFound(f"The shop has no order {order_id}: GET {API_PREFIX}/orders.json lists them.")


@router.post("/orders/{order_id}/fulfillments.json", status_code=201)
def create_fulfillment(request: Request, order_id: int, body: FulfillmentCreate) -> dict[str, Any]:
    """A shipment of the order's goods, with carrier and tracking; its SKUs must be on the order."""
    store = _store(request)
    order = store.order(order_id)
    if order is None:
        raise _unknown_order(order_id)
    on_order = {item.get("sku") for item in order.get("line_items", [])}
    errors = [
        {"pointer": f"#/fulfillment/line_items/{i}/sku", "detail": f"SKU {item.sku!r} is not on order {order_id}"}
        for i, item in enumerate(body.fulfillment.line_items)
        if item.sku not in on_order
    ]
    if errors:
        raise UnprocessableContent("A fulfilment ships only the order's line items.", errors=errors)
    kept = store.add_fulfillment(order_id=order_id, fulfillment=body.fulfillment.model_dump())
    if kept is None:
        raise _unknown_order(order_id)
    return {"fulfillment": kept}


@router.get("/orders/{order_id}/fulfillments.json")
def list_fulfillments(request: Request, order_id: int) -> dict[str, Any]:
    found = _store(request).fulfillments(order_id=order_id)
    if found is None:
        raise _unknown_order(order_id)
    return {"fulfillments": found}


@router.get("/webhook_deliveries.json")
def list_webhook_deliveries(request: Request, order_id: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
    return {"webhook_deliveries": _store(request).deliveries(order_id=order_id)}
