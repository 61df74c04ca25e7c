"""The account reads' answers (process_apis.orders.accounts)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from contracts import CustomerStatus, Money, ProductStatus
from contracts.common import CanonicalModel, CurrencyCode, Sku


class AccountPrice(CanonicalModel):
    sku: Sku
    unit: str
    unit_price: Annotated[Money, Field(description="The net price per unit this account pays.")]
    status: ProductStatus


class AccountPrices(CanonicalModel):
    customer_id: str
    price_list: Annotated[str, Field(description="The account's ERP price list (`LIST`: list prices).")]
    currency: CurrencyCode
    version: Annotated[int, Field(description="The price list's version in the ERP.")]
    items: list[AccountPrice]


class AccountCredit(CanonicalModel):
    customer_id: str
    name: str
    status: CustomerStatus
    currency: CurrencyCode
    price_list: str
    credit_limit: Annotated[Money | None, Field(description="Null: the account has no credit limit.")] = None
    open_orders: Annotated[
        Money, Field(description="What the account's booked, not yet invoiced orders hold of its credit.")
    ]
    credit_headroom: Annotated[
        Money | None, Field(description="The credit limit less the open orders (never below zero); null: no limit.")
    ] = None
