"""ERP capabilities in business terms: look up items and customers, quote prices, and book,
find and cancel sales orders (unique by external reference)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from contracts import Customer, Money, PriceQuote, Product, SalesOrder, SalesOrderCreate, SalesOrderLineCreate
from service_kit.errors import BusinessRuleViolation, Conflict, NotFound
from system_apis.erp import rules
from system_apis.erp.backend import ErpBackend
from system_apis.erp.schemas import ItemStockPolicy, ItemStockPolicyList, ItemUpdate, PriceQuoteCreate, PriceQuoteResult


async def get_product(*, backend: ErpBackend, sku: str) -> Product:
    found = await backend.get_products([sku])
    if not found:
        raise NotFound(f"No item with SKU {sku!r} in the ERP.")
    return found[0]


async def find_products(*, backend: ErpBackend, skus: Sequence[str]) -> list[Product]:
    return await backend.get_products(skus)


async def get_customer(*, backend: ErpBackend, customer_id: str) -> Customer:
    customer = await backend.get_customer(customer_id)
    if customer is None:
        raise NotFound(f"No customer {customer_id!r} in the ERP.")
    return customer


async def quote_prices(*, backend: ErpBackend, request: PriceQuoteCreate) -> PriceQuoteResult:
    """Price each line as the customer's price list says; nothing is stored."""
    skus = [line.sku for line in request.lines]
    customer = await backend.get_customer(request.customer_id)
    products = {product.sku: product for product in await backend.get_products(skus)}
    errors = rules.customer_errors(
        customer, customer_id=request.customer_id, currency=request.currency, must_be_active=False
    ) + rules.line_errors(request.lines, products, must_be_active=False)
    if errors:
        raise BusinessRuleViolation(rules.summary(errors), errors=errors)
    prices = await backend.net_unit_prices(customer_id=request.customer_id, skus=skus)
    lines = [
        PriceQuote(
            customer_id=request.customer_id,
            sku=line.sku,
            quantity=line.quantity,
            unit_price=prices[line.sku],
            line_total=Money.of(prices[line.sku].value * line.quantity.amount, request.currency),
        )
        for line in request.lines
    ]
    total = sum((line.line_total.value for line in lines), Decimal(0))
    return PriceQuoteResult(
        customer_id=request.customer_id,
        currency=request.currency,
        lines=lines,
        total=Money.of(total, request.currency),
    )


def same_order(existing: SalesOrder, order: SalesOrderCreate) -> bool:
    def key(lines: Sequence[SalesOrderLineCreate]) -> list[tuple[object, ...]]:
        return [(x.sku, x.quantity.amount, x.quantity.unit, x.unit_price.value, x.unit_price.currency) for x in lines]

    return (existing.customer_id, existing.currency, key(existing.lines)) == (
        order.customer_id,
        order.currency,
        key(order.lines),
    )


async def place_sales_order(*, backend: ErpBackend, order: SalesOrderCreate) -> tuple[SalesOrder, bool]:
    """Book the order once per external reference: ``(order, True)`` when booked now,
    ``(existing, False)`` when the same order was booked before; other lines are a conflict."""
    existing = await backend.find_sales_order(order.external_reference)
    if existing is not None:
        if not same_order(existing, order):
            raise Conflict(
                f"Sales order {existing.number} already exists for external reference "
                f"{order.external_reference!r} with other customer, currency or lines."
            )
        return existing, False
    customer = await backend.get_customer(order.customer_id)
    products = {product.sku: product for product in await backend.get_products([x.sku for x in order.lines])}
    errors = (
        rules.customer_errors(customer, customer_id=order.customer_id, currency=order.currency, must_be_active=True)
        + rules.line_errors(order.lines, products, must_be_active=True)
        + rules.price_errors(order.lines, currency=order.currency)
    )
    if errors:
        raise BusinessRuleViolation(rules.summary(errors), errors=errors)
    return await backend.create_sales_order(order), True


async def get_sales_order(*, backend: ErpBackend, number: str) -> SalesOrder:
    order = await backend.get_sales_order(number)
    if order is None:
        raise NotFound(f"No sales order {number!r} in the ERP.")
    return order


async def find_sales_orders(*, backend: ErpBackend, external_reference: str) -> list[SalesOrder]:
    order = await backend.find_sales_order(external_reference)
    return [order] if order else []


async def cancel_sales_order(*, backend: ErpBackend, number: str) -> SalesOrder:
    """Cancel the order; cancelling a cancelled order answers it as it is."""
    order = await backend.cancel_sales_order(number)
    if order is None:
        raise NotFound(f"No sales order {number!r} in the ERP.")
    return order


async def change_item(*, backend: ErpBackend, sku: str, update: ItemUpdate) -> ItemStockPolicy:
    """Change status and/or safety stock (whole units of EA); 404 for an unknown SKU."""
    safety: int | None = None
    if update.safety_stock is not None:
        amount = update.safety_stock.amount
        if update.safety_stock.unit != "EA" or amount != amount.to_integral_value():
            raise BusinessRuleViolation(
                f"Safety stock of {sku} is kept in whole EA, not {update.safety_stock.value} "
                f"{update.safety_stock.unit}."
            )
        safety = int(amount)
    found = await backend.get_products([sku])
    if not found:
        raise NotFound(f"No item with SKU {sku!r} in the ERP.")
    before = found[0]
    price: int | None = None
    if update.list_price is not None:
        price = _list_price_cents(sku=sku, price=update.list_price, currency=before.list_price.currency)
    policy = await backend.change_stock_policy(sku=sku, status=update.status, safety_stock=safety)
    if policy is None:
        raise NotFound(f"No item with SKU {sku!r} in the ERP.")
    if price is not None:
        await backend.change_list_price(sku=sku, list_price_cents=price)
    if price is not None or policy.status is not before.status:
        await backend.announce_price_lists()  # the price lists carry prices and statuses
    return policy


def _list_price_cents(*, sku: str, price: Money, currency: str) -> int:
    cents = price.value * 100
    if price.currency != currency:
        raise BusinessRuleViolation(
            f"The list price of {sku} is kept in {currency}, not {price.currency}.",
            errors=[{"pointer": "#/list_price/currency", "detail": f"use {currency}"}],
        )
    if price.value < 0 or cents != cents.to_integral_value():
        raise BusinessRuleViolation(
            f"The list price of {sku} must be zero or more, in cents.",
            errors=[{"pointer": "#/list_price/amount", "detail": "zero or more, in cents"}],
        )
    return int(cents)


async def stock_policies(*, backend: ErpBackend, after: str | None, limit: int) -> ItemStockPolicyList:
    items, next_after = await backend.stock_policies(after=after, limit=limit)
    return ItemStockPolicyList(items=items, next_after=next_after)
