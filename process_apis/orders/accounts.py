"""A customer account as a channel shows it to its buyer: the account's own prices (its ERP price
list, from this process's copy of the master data) and its credit: the limit, what its open orders
already hold of it (the same exposure the credit check counts) and the headroom left.

Read here, not from the ERP, because the credit check decides on exactly this: a channel that
shows the headroom shows what the next order will be checked against.

Before the copy holds the account (the ERP snapshot is still loading at start-up) the ERP is asked
directly; when it cannot be asked either, the answer is a 503 with Retry-After (try again in a
moment), not a 502: the channels above pass a 503 on to their partner as such, a 502 as "failed"."""

from __future__ import annotations

from collections.abc import Awaitable
from decimal import Decimal
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Money
from process_apis.orders import repository
from process_apis.orders.clients import ErpClient
from process_apis.orders.masterdata import MasterData
from process_apis.orders.schemas_accounts import AccountCredit, AccountPrice, AccountPrices
from service_kit.errors import NotFound, UpstreamTimeout, UpstreamUnavailable
from service_kit.guards import UpstreamDegraded

_CENT = Decimal("0.01")
#: Seconds a caller is told to wait when the account is in neither the copy nor reachable in the
#: ERP: the snapshot's first retries come within seconds (flows/worker.py, backoff from 1 s).
NOT_LOADED_RETRY_AFTER = 5

T = TypeVar("T")


async def _held_or_unavailable(read: Awaitable[T], *, customer_id: str) -> T:
    """``read``'s answer; a 503 with Retry-After when the copy does not hold it and the ERP cannot
    be asked (a 503 that already says when to come back, an open circuit say, passes as it is)."""
    try:
        return await read
    except (UpstreamUnavailable, UpstreamTimeout) as exc:
        if exc.status == 503 and exc.headers and "Retry-After" in exc.headers:
            raise
        raise UpstreamDegraded(
            f"The master data of account {customer_id!r} is not loaded yet and the ERP cannot be asked now; "
            "try again after the Retry-After seconds.",
            retry_after=NOT_LOADED_RETRY_AFTER,
        ) from exc


def _money(amount: Decimal, currency: str) -> Money:
    return Money(amount=str(amount.quantize(_CENT)), currency=currency)


async def account_prices(*, master: MasterData, erp: ErpClient, customer_id: str) -> AccountPrices:
    terms = await _held_or_unavailable(master.terms(erp, customer_id, allow_stale=True), customer_id=customer_id)
    if terms is None:
        raise NotFound(f"No customer account {customer_id!r}.")
    prices = await _held_or_unavailable(master.prices(erp, terms.price_list, allow_stale=True), customer_id=customer_id)
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
    terms = await _held_or_unavailable(master.terms(erp, customer_id, allow_stale=True), customer_id=customer_id)
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
