"""ERP master data events: a customer's terms and a price list, each as its whole new state.

The orders process keeps its own copy of both (prices and credit decided without a call per
order), so every change is announced with the entity's change counter as ``entityversion``:
a consumer applies a state only when it is newer than the one it holds.
``subject``: ``customer/<customer id>`` and ``pricelist/<code>``.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from contracts.catalog import CustomerKind, CustomerStatus, ProductStatus
from contracts.common import CurrencyCode, Sku, UnitCode
from contracts.events.envelope import EventData

#: A decimal amount of money as a string, as in ``contracts.common.Money``.
Amount = Annotated[str, Field(pattern=r"^-?\d{1,15}(\.\d{1,4})?$", examples=["17.99"])]
PriceListCode = Annotated[str, Field(min_length=1, max_length=20, examples=["TRADE-10"])]


class CustomerTermsChangedV1(EventData):
    """What the ERP sells a customer on: status, currency, credit limit and price list."""

    event_type: ClassVar[str] = "com.interchange.customer.changed.v1"

    customer_id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(max_length=200)]
    kind: CustomerKind
    status: CustomerStatus
    currency: CurrencyCode
    credit_limit: Annotated[Amount | None, Field(description="In the customer's currency; null: no limit")] = None
    price_list: PriceListCode


class PriceListLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    sku: Sku
    unit: UnitCode = "EA"
    unit_price: Amount
    status: ProductStatus


class PriceListChangedV1(EventData):
    """Every item's net unit price on one price list (list prices: code ``LIST``)."""

    event_type: ClassVar[str] = "com.interchange.pricelist.changed.v1"

    code: PriceListCode
    currency: CurrencyCode
    lines: list[PriceListLine]


__all__ = ["CustomerTermsChangedV1", "PriceListChangedV1", "PriceListLine"]
