"""The orders process's copy of the ERP's master data: customer terms (status, currency, credit
limit, price list) and price lists (every item's net unit price and status).

Three ways in, all versioned by the ERP's change counter (an older state never overwrites a newer):

- a snapshot at start-up (``load_snapshot``, retried until the ERP answers);
- the ERP's events, ``customer.changed`` and ``pricelist.changed`` (``event_handlers``);
- a fallback call when what is needed is missing or older than ``max_age`` seconds.

Freshness: every state carries when it was last confirmed (``refreshed_at``). The saga prices
and checks credit only on fresh data (prices bind the sale; when the fallback call fails, the
step is retried later). Intake only validates (the ERP decides again at the pivot), so it may
use a stale state when the ERP cannot be reached: orders keep coming in while the ERP is down.

Reads go to this service's database (shared by every replica) through a one-second memo, so a
burst of orders of the same customer costs one read, not one per order. Fallback calls are shared
the same way: the orders that find the same state missing or stale at once make one ERP call
between them, not one each (under an ERP call quota, one each queued a burst of intake behind
the pacer: 90 calls at 14/s held orders up to 7 s when a burst met a copy not loaded yet).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import Customer, Money, ProductStatus
from contracts.events import CloudEvent, CustomerTermsChangedV1, PriceListChangedV1
from process_apis.orders import masterdata_repository as repo
from process_apis.orders.clients import ErpClient
from process_apis.orders.clients.erp import CustomerTerms, PriceList
from process_apis.orders.repository import aware
from service_kit.db import Database
from service_kit.errors import UpstreamTimeout, UpstreamUnavailable
from service_kit.events.consumer import EventHandler

log = structlog.get_logger("process_apis.orders.masterdata")

#: The price list of every item at list price (the ERP's convention): intake's item check.
LIST_PRICES = "LIST"


@dataclass(frozen=True)
class Terms:
    customer: Customer
    price_list: str
    version: int
    refreshed_at: datetime


@dataclass(frozen=True)
class PriceLine:
    unit_price: Decimal
    unit: str
    status: ProductStatus


@dataclass(frozen=True)
class Prices:
    code: str
    currency: str
    lines: Mapping[str, PriceLine]
    version: int
    refreshed_at: datetime


def _lines(price_list: PriceList) -> dict[str, list[str]]:
    return {x.sku: [x.unit_price.amount, x.unit, x.status.value] for x in price_list.lines}


class MasterData:
    def __init__(self, *, max_age: float, memo_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.max_age = max_age
        self.memo_seconds = memo_seconds
        self._clock = clock
        self._memo: dict[str, tuple[float, Terms | Prices]] = {}
        self._reading: dict[str, asyncio.Future[Any]] = {}  # a read under way, shared by who asks meanwhile
        self._fetching: dict[str, asyncio.Future[Any]] = {}  # a fallback call under way, shared likewise
        self.db: Database | None = None  # set at start-up

    def _database(self) -> Database:
        if self.db is None:
            raise RuntimeError("the master data store is used before the service started")
        return self.db

    def is_fresh(self, refreshed_at: datetime) -> bool:
        return (datetime.now(UTC) - aware(refreshed_at)).total_seconds() <= self.max_age

    def forget(self, key: str) -> None:
        self._memo.pop(key, None)
        self._reading.pop(key, None)  # a read under way may predate the change: not shared, not kept

    async def _held(self, key: str, read: Callable[[AsyncSession], Any]) -> Any:
        """The memo's value, else one read for all who ask at once: when the memo runs out,
        every order in flight asks in the same instant, and each read decodes a whole price
        list (py-spy: a quarter of the saga's CPU before). Should the shared read fail, each
        waiting caller reads for itself (and hears its own error)."""
        hit = self._memo.get(key)
        if hit is not None and self._clock() - hit[0] <= self.memo_seconds:
            return hit[1]
        pending = self._reading.get(key)
        if pending is not None:
            await asyncio.wait([pending])
            if not pending.cancelled() and pending.exception() is None:
                return pending.result()
        mine: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._reading[key] = mine
        try:
            async with self._database().transaction() as session:
                value = await read(session)
        except BaseException:
            mine.cancel()  # the waiters read for themselves
            raise
        finally:
            current = self._reading.get(key) is mine  # not forgotten meanwhile (a change event)
            if current:
                del self._reading[key]
        if value is not None and current:
            self._memo[key] = (self._clock(), value)
        mine.set_result(value)
        return value

    async def _fetched(self, key: str, fetch: Callable[[], Awaitable[Any]]) -> Any:
        """``fetch()`` (a fallback call and the save of its answer), once for everyone who needs
        ``key`` while it runs: they share its answer or its error. Shielded, so a caller that
        gives up (a cancelled request) does not cancel the call the others wait for."""
        pending = self._fetching.get(key)
        if pending is None:
            pending = self._fetching[key] = asyncio.ensure_future(fetch())

            def done(finished: asyncio.Future[Any]) -> None:
                if self._fetching.get(key) is finished:
                    del self._fetching[key]
                if not finished.cancelled():
                    finished.exception()  # retrieved here too: every waiter may have gone

            pending.add_done_callback(done)
        return await asyncio.shield(pending)

    # -- reads ---------------------------------------------------------------------------------

    async def terms(self, erp: ErpClient, customer_id: str, *, allow_stale: bool = False) -> Terms | None:
        """The customer's terms (None: the ERP does not know it). Raises ``UpstreamUnavailable``
        when they are missing or stale and the ERP cannot be asked (unless ``allow_stale``)."""

        async def read(session: AsyncSession) -> Terms | None:
            row = await repo.get_customer(session, customer_id=customer_id)
            if row is None:
                return None
            customer = Customer.model_validate(row.customer)
            return Terms(customer, row.price_list, row.version, aware(row.refreshed_at))

        held: Terms | None = await self._held(f"customer/{customer_id}", read)
        if held is not None and self.is_fresh(held.refreshed_at):
            return held

        async def fetch() -> CustomerTerms | None:
            fetched = await erp.get_customer_terms(customer_id)
            if fetched is not None:
                await self.save_terms([fetched])
            return fetched

        try:
            fetched = await self._fetched(f"customer/{customer_id}", fetch)
        except (UpstreamUnavailable, UpstreamTimeout) as exc:
            if held is not None and allow_stale:
                log.info("master_data_stale_used", customer_id=customer_id, error=exc.detail)
                return held
            raise
        if fetched is None:
            return None
        return await self._held(f"customer/{customer_id}", read)

    async def prices(self, erp: ErpClient, code: str, *, allow_stale: bool = False) -> Prices | None:
        """A price list (None: the ERP has no such list); fresh as ``terms`` says."""

        async def read(session: AsyncSession) -> Prices | None:
            row = await repo.get_price_list(session, code=code)
            if row is None:
                return None
            lines = {
                sku: PriceLine(Decimal(p), unit, ProductStatus(status)) for sku, (p, unit, status) in row.lines.items()
            }
            return Prices(code, row.currency, lines, row.version, aware(row.refreshed_at))

        held: Prices | None = await self._held(f"pricelist/{code}", read)
        if held is not None and self.is_fresh(held.refreshed_at):
            return held

        async def fetch() -> list[PriceList]:
            fetched = await erp.price_lists([code])
            if fetched:
                await self.save_price_lists(fetched)
            return fetched

        try:
            fetched = await self._fetched(f"pricelist/{code}", fetch)
        except (UpstreamUnavailable, UpstreamTimeout) as exc:
            if held is not None and allow_stale:
                log.info("master_data_stale_used", price_list=code, error=exc.detail)
                return held
            raise
        if not fetched:
            return None
        return await self._held(f"pricelist/{code}", read)

    # -- writes --------------------------------------------------------------------------------

    async def save_terms(self, terms: Sequence[CustomerTerms]) -> None:
        at = datetime.now(UTC)
        async with self._database().transaction() as session:
            for t in terms:
                await repo.save_customer(
                    session,
                    customer_id=t.customer.id,
                    customer=t.customer.model_dump(mode="json"),
                    price_list=t.price_list,
                    version=t.version,
                    at=at,
                )
        for t in terms:
            self.forget(f"customer/{t.customer.id}")

    async def save_price_lists(self, price_lists: Sequence[PriceList]) -> None:
        at = datetime.now(UTC)
        async with self._database().transaction() as session:
            for p in price_lists:
                await repo.save_price_list(
                    session, code=p.code, currency=p.currency, lines=_lines(p), version=p.version, at=at
                )
        for p in price_lists:
            self.forget(f"pricelist/{p.code}")

    async def load_snapshot(self, erp: ErpClient) -> tuple[int, int]:
        """Every customer's terms and every price list, as the ERP has them now."""
        customers, after = 0, None
        while True:
            page, after = await erp.list_customer_terms(after=after)
            await self.save_terms(page)
            customers += len(page)
            if after is None:
                break
        price_lists = await erp.price_lists()
        await self.save_price_lists(price_lists)
        return customers, len(price_lists)

    def event_handlers(self) -> dict[str, EventHandler]:
        """The consumer's handlers: each ERP event saves the state it carries (when newer)."""

        async def on_customer_changed(*, session: AsyncSession, event: CloudEvent) -> None:
            data = CustomerTermsChangedV1.model_validate(event.data)
            customer = Customer(
                id=data.customer_id,
                name=data.name,
                kind=data.kind,
                status=data.status,
                currency=data.currency,
                credit_limit=None if data.credit_limit is None else Money.of(data.credit_limit, data.currency),
            )
            await repo.save_customer(
                session,
                customer_id=data.customer_id,
                customer=customer.model_dump(mode="json"),
                price_list=data.price_list,
                version=event.entityversion or 0,
                at=datetime.now(UTC),
            )
            self.forget(f"customer/{data.customer_id}")

        async def on_price_list_changed(*, session: AsyncSession, event: CloudEvent) -> None:
            data = PriceListChangedV1.model_validate(event.data)
            lines = {x.sku: [x.unit_price, x.unit, x.status.value] for x in data.lines}
            await repo.save_price_list(
                session,
                code=data.code,
                currency=data.currency,
                lines=lines,
                version=event.entityversion or 0,
                at=datetime.now(UTC),
            )
            self.forget(f"pricelist/{data.code}")

        return {
            CustomerTermsChangedV1.event_type: on_customer_changed,
            PriceListChangedV1.event_type: on_price_list_changed,
        }


class CachedErp:
    """Intake's two lookups, answered from the master data (stale allowed when the ERP is down);
    SKUs missing from it are asked of the ERP (a new item may not have reached the copy yet)."""

    def __init__(self, erp: ErpClient, cache: MasterData) -> None:
        self.erp, self.cache = erp, cache

    async def get_customer(self, customer_id: str) -> Customer | None:
        terms = await self.cache.terms(self.erp, customer_id, allow_stale=True)
        return terms.customer if terms else None

    async def item_statuses(self, skus: Sequence[str]) -> dict[str, ProductStatus]:
        """The status of every SKU the ERP knows among ``skus`` (unknown ones are absent)."""
        prices = await self.cache.prices(self.erp, LIST_PRICES, allow_stale=True)
        known = {sku: prices.lines[sku].status for sku in skus if prices and sku in prices.lines}
        missing = [sku for sku in dict.fromkeys(skus) if sku not in known]
        if missing:
            known |= {sku: product.status for sku, product in (await self.erp.find_items(missing)).items()}
        return known


__all__ = ["LIST_PRICES", "CachedErp", "MasterData", "PriceLine", "Prices", "Terms"]
