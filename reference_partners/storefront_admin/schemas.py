"""What the shop's admin API takes, in the shop's own (Shopify-like) dialect."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")  # the shop ignores fields it does not know, as Shopify does


class InventoryLevelSet(_Body):
    inventory_item_id: Annotated[int, Field(ge=1)]
    available: int
    location_id: int | None = None


class LineItem(_Body):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(ge=1, le=999_999)]
    title: Annotated[str | None, Field(max_length=200)] = None
    price: Annotated[str | None, Field(pattern=r"^\d+(\.\d+)?$")] = None


class ShippingAddress(_Body):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    address1: Annotated[str, Field(min_length=1, max_length=200)]
    address2: Annotated[str | None, Field(max_length=200)] = None
    city: Annotated[str, Field(min_length=1, max_length=100)]
    zip: Annotated[str, Field(min_length=1, max_length=20)]
    province_code: Annotated[str | None, Field(max_length=100)] = None
    country_code: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class NewOrder(_Body):
    line_items: Annotated[list[LineItem], Field(min_length=1, max_length=200)]
    shipping_address: ShippingAddress | None = None
    email: Annotated[str | None, Field(max_length=254)] = None
    currency: Annotated[str | None, Field(pattern=r"^[A-Z]{3}$")] = None
    note: Annotated[str | None, Field(max_length=2000)] = None


class OrderCreate(_Body):
    order: NewOrder


class OrderCancel(_Body):
    reason: Annotated[str, Field(min_length=1, max_length=100)] = "customer"


class FulfillmentLineItem(_Body):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(ge=1, le=999_999)]


class NewFulfillment(_Body):
    tracking_company: Annotated[str | None, Field(max_length=100)] = None
    tracking_number: Annotated[str | None, Field(max_length=100)] = None
    tracking_url: Annotated[str | None, Field(max_length=2000)] = None
    line_items: Annotated[list[FulfillmentLineItem], Field(min_length=1, max_length=200)]
    notify_customer: bool = False


class FulfillmentCreate(_Body):
    fulfillment: NewFulfillment
