"""A customer account as a channel shows it to its buyer: the account's own prices (its ERP price
list, from this process's copy of the master data) and its credit: the limit, what its open orders
already hold of it (the same exposure the credit check counts) and the headroom left.

Read here, not from the ERP, because the credit check decides on exactly this: a channel that
shows the headroom shows what the next order will be checked against."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Money
from process_apis.orders import repository
from process_apis.orders.clients import ErpClient
from process_apis.orders.masterdata import MasterData
from process_apis.orders.schemas_accounts import AccountCredit, AccountPrice, AccountPrices
from service_kit.errors import NotFound

_CENT = Decimal("0.01")


def _money(amount: Decimal, currency: str) -> Money:
    return Money(amount=str(amount.quantize(_CENT)), currency=currency)


async def account_prices(*, master: MasterData, erp: ErpClient, customer_id: str) -> AccountPrices:
    terms = await master.terms(erp, customer_id, allow_stale=True)
    if terms is None:
        raise NotFound(f"No customer account {customer_id!r}.")
    prices = await master.prices(erp, terms.price_list, allow_stale=True)
    if prices is None:
        raise NotFound(f"The price list {terms.price_list!r} of account {customer_id!r} is not in the ERP.")
    return AccountPrices(
        customer_id=customer_id,
        price_list=prices.code,
        currency=prices.currency,
        version=prices.version,
        items=[
            AccountPrice(
                sku=sku, unit=line.unit, unit_price=_money(line.unit_price, prices.currency), status=line.status
            )
            for sku, line in sorted(prices.lines.items())
        ],
    )


async def account_credit(
    *, master: MasterData, erp: ErpClient, session: AsyncSession, customer_id: str
) -> AccountCredit:
    terms = await master.terms(erp, customer_id, allow_stale=True)
    if terms is None:
        raise NotFound(f"No customer account {customer_id!r}.")
    customer = terms.customer
    exposure = await repository.open_credit_exposure(session, customer_id=customer_id, excluding="")
    limit = customer.credit_limit
    return AccountCredit(
        customer_id=customer_id,
        name=customer.name,
        status=customer.status,
        currency=customer.currency,
        price_list=terms.price_list,
        credit_limit=limit,
        open_orders=_money(exposure, customer.currency),
        credit_headroom=None if limit is None else _money(max(limit.value - exposure, Decimal(0)), customer.currency),
    )


__all__ = ["account_credit", "account_prices"]
