"""Quotes for a reseller (issue 12): its own prices (its account's ERP price list, through the orders
process) for the lines asked, with totals, kept in this service's database until ``valid_until``. A
purchase order that names a quote is checked against it before it is submitted: the quote is the
reseller's and still valid, every line's SKU is on it, and today's price is the quoted one (the
orders saga prices the order from the same price list, so a price that moved since is refused
rather than billed at another price than quoted)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Money, ProductStatus, Quantity
from experience_apis.b2b import repository
from experience_apis.b2b.clients import OrdersApi
from experience_apis.b2b.models import Quote as QuoteRow
from experience_apis.b2b.models import Reseller
from experience_apis.b2b.schemas import PurchaseOrderCreate
from experience_apis.b2b.schemas_quotes import Quote, QuoteCreate, QuoteLine
from service_kit.errors import BusinessRuleViolation, NotFound


def _read(row: QuoteRow) -> Quote:
    return Quote(
        quote_id=row.id,
        price_list=row.price_list,
        currency=row.currency,
        lines=[QuoteLine.model_validate(line) for line in row.lines],
        total=Money(amount=row.total, currency=row.currency),
        created_at=row.created_at.replace(tzinfo=UTC),
        valid_until=row.valid_until.replace(tzinfo=UTC),
    )


async def create_quote(
    *, session: AsyncSession, orders: OrdersApi, account: Reseller, body: QuoteCreate, valid_for: timedelta
) -> Quote:
    prices = await orders.account_prices(customer_id=account.customer_id)
    by_sku = {item.sku: item for item in prices.items}
    lines: list[QuoteLine] = []
    errors: list[dict[str, Any]] = []
    for n, line in enumerate(body.lines):
        item = by_sku.get(line.sku)
        if item is None:
            errors.append({"pointer": f"#/lines/{n}/sku", "detail": f"{line.sku!r} is not in your catalog."})
        elif item.status != ProductStatus.active:
            errors.append({"pointer": f"#/lines/{n}/sku", "detail": f"{line.sku!r} is discontinued."})
        elif line.quantity.unit != item.unit:
            detail = f"{line.sku!r} is sold by {item.unit!r}."
            errors.append({"pointer": f"#/lines/{n}/quantity/unit", "detail": detail})
        else:
            total = Money.of(line.quantity.amount * item.unit_price.value, prices.currency)
            quantity = Quantity(value=line.quantity.value, unit=line.quantity.unit)
            lines.append(
                QuoteLine(line_no=n + 1, sku=line.sku, quantity=quantity, unit_price=item.unit_price, line_total=total)
            )
    if errors:
        raise BusinessRuleViolation("Some lines cannot be quoted; `errors` names each.", errors=errors)
    now = datetime.now(UTC)
    row = QuoteRow(
        id=f"qt_{secrets.token_hex(12)}",
        partner_id=account.partner_id,
        price_list=prices.price_list,
        currency=prices.currency,
        lines=[line.model_dump(mode="json") for line in lines],
        total=Money.of(sum((line.line_total.value for line in lines), start=0), prices.currency).amount,
        created_at=now,
        valid_until=now + valid_for,
    )
    await repository.add_quote(session, quote=row)
    return _read(row)


async def get_quote(*, session: AsyncSession, account: Reseller, quote_id: str) -> Quote:
    row = await repository.get_quote(session, quote_id=quote_id, partner_id=account.partner_id)
    if row is None:
        raise NotFound(f"No quote {quote_id!r} of yours; ask for one at /b2b/v1/quotes.")
    return _read(row)


async def check_against_quote(
    *, session: AsyncSession, orders: OrdersApi, account: Reseller, po: PurchaseOrderCreate
) -> None:
    """Refuse the purchase order (422, nothing submitted) unless it holds to the quote it names."""
    if po.quote_id is None:
        return
    row = await repository.get_quote(session, quote_id=po.quote_id, partner_id=account.partner_id)
    if row is None:
        raise BusinessRuleViolation(
            "No such quote of yours.", errors=[{"pointer": "#/quote_id", "detail": "No quote of yours has this id."}]
        )
    quote = _read(row)
    if quote.valid_until <= datetime.now(UTC):
        detail = f"The quote expired at {quote.valid_until.isoformat()}; ask for a new one."
        raise BusinessRuleViolation(detail, errors=[{"pointer": "#/quote_id", "detail": detail}])
    quoted = {line.sku: line.unit_price for line in quote.lines}
    today = {item.sku: item.unit_price for item in (await orders.account_prices(customer_id=account.customer_id)).items}
    errors: list[dict[str, Any]] = []
    for n, line in enumerate(po.lines):
        if line.sku not in quoted:
            errors.append({"pointer": f"#/lines/{n}/sku", "detail": f"{line.sku!r} is not on quote {quote.quote_id}."})
        elif today.get(line.sku) != quoted[line.sku]:
            now = today.get(line.sku)
            detail = (
                f"Quoted at {quoted[line.sku].amount}, now {now.amount if now else 'not sold'}; ask for a new quote."
            )
            errors.append({"pointer": f"#/lines/{n}/sku", "detail": detail})
    if errors:
        raise BusinessRuleViolation(
            "The purchase order does not hold to its quote; `errors` names each line.", errors=errors
        )
