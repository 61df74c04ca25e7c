"""The B2B dialect's quotes (version 1): the reseller's own prices for some lines, held for a time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from contracts import Money, Quantity
from contracts.common import CanonicalModel, Sku
from experience_apis.b2b.schemas import PurchaseOrderLineCreate


class QuoteCreate(CanonicalModel):
    lines: Annotated[list[PurchaseOrderLineCreate], Field(min_length=1, max_length=200)]


class QuoteLine(CanonicalModel):
    line_no: int
    sku: Sku
    quantity: Quantity
    unit_price: Annotated[Money, Field(description="Your net price per unit (your account's price list).")]
    line_total: Money


class Quote(CanonicalModel):
    quote_id: Annotated[str, Field(description="Name it as `quote_id` on a purchase order to hold these prices.")]
    price_list: str
    currency: str
    lines: list[QuoteLine]
    total: Annotated[Money, Field(description="Your net total for these lines.")]
    created_at: datetime
    valid_until: Annotated[datetime, Field(description="A purchase order naming the quote after this is refused.")]
