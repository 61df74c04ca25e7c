"""The reference ERP's master data as the orders process keeps a copy of it: customer terms
(customer, price list, credit limit) and price lists (every item's net price), each read as a
snapshot with its version and announced on every change (customer.changed, pricelist.changed in
the outbox, in the transaction of the change, the change counter as ``entityversion``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import CustomerStatus, ProductStatus
from contracts.events import CustomerTermsChangedV1, PriceListChangedV1, PriceListLine
from service_kit.events import add_event, new_event
from system_apis.erp.backend.mapping import money, net_cents, to_customer
from system_apis.erp.models import ErpCustomer, ErpItem, ErpMasterVersion, ErpPriceList
from system_apis.erp.schemas import CustomerTerms, PriceList
from system_apis.erp.schemas import PriceListLine as PriceListLineRead

SOURCE = "urn:interchange:system:erp"
#: The price list of customers without one: list prices.
LIST_PRICES = "LIST"


def _customer_subject(customer_no: str) -> str:
    return f"customer/{customer_no}"


def _price_list_subject(code: str) -> str:
    return f"pricelist/{code}"


class ReferenceMasterData:
    session: AsyncSession

    async def _versions(self, subjects: Sequence[str]) -> dict[str, int]:
        stmt = select(ErpMasterVersion.subject, ErpMasterVersion.change_seq).where(
            ErpMasterVersion.subject.in_(list(subjects))
        )
        return {subject: seq for subject, seq in (await self.session.execute(stmt)).all()}

    async def _bump(self, subject: str) -> int:
        row = await self.session.get(ErpMasterVersion, subject)
        if row is None:
            row = ErpMasterVersion(subject=subject, change_seq=0)
            self.session.add(row)
        row.change_seq += 1
        return row.change_seq

    def _terms(self, customer: ErpCustomer, version: int) -> CustomerTerms:
        return CustomerTerms(
            customer=to_customer(customer), price_list=customer.price_list_code or LIST_PRICES, version=version
        )

    async def customer_terms(self, *, after: str | None, limit: int) -> tuple[list[CustomerTerms], str | None]:
        stmt = select(ErpCustomer).order_by(ErpCustomer.customer_no).limit(limit + 1)
        if after:
            stmt = stmt.where(ErpCustomer.customer_no > after)
        rows = list((await self.session.execute(stmt)).scalars())
        page = rows[:limit]
        versions = await self._versions([_customer_subject(c.customer_no) for c in page])
        terms = [self._terms(c, versions.get(_customer_subject(c.customer_no), 0)) for c in page]
        return terms, (page[-1].customer_no if len(rows) > limit and page else None)

    async def get_customer_terms(self, customer_id: str) -> CustomerTerms | None:
        customer = await self.session.get(ErpCustomer, customer_id)
        if customer is None:
            return None
        versions = await self._versions([_customer_subject(customer_id)])
        return self._terms(customer, versions.get(_customer_subject(customer_id), 0))

    async def price_lists(self, codes: Sequence[str] | None = None) -> list[PriceList]:
        """The price lists asked for (all when None); unknown codes are left out."""
        discounts = {LIST_PRICES: 0} | {
            code: bp for code, bp in (await self.session.execute(select(ErpPriceList.code, ErpPriceList.discount_bp)))
        }
        wanted = [c for c in (codes if codes is not None else sorted(discounts)) if c in discounts]
        if not wanted:
            return []
        items = list((await self.session.execute(select(ErpItem).order_by(ErpItem.catalog_sku))).scalars())
        versions = await self._versions([_price_list_subject(c) for c in wanted])
        currency = items[0].price_currency if items else "EUR"
        return [
            PriceList(
                code=code,
                currency=currency,
                version=versions.get(_price_list_subject(code), 0),
                lines=[
                    PriceListLineRead(
                        sku=item.catalog_sku,
                        unit="EA",
                        unit_price=money(net_cents(item.list_price_cents, discounts[code]), item.price_currency),
                        status=ProductStatus.discontinued if item.sales_blocked else ProductStatus.active,
                    )
                    for item in items
                ],
            )
            for code in wanted
        ]

    async def change_customer(
        self, *, customer_id: str, status: CustomerStatus | None, credit_limit_cents: int | None
    ) -> CustomerTerms | None:
        """Apply the change (None: unknown customer); announce it when anything changed."""
        customer = await self.session.get(ErpCustomer, customer_id)
        if customer is None:
            return None
        before = (customer.blocked, customer.credit_limit_cents)
        if status is not None:
            customer.blocked = status is not CustomerStatus.active
        if credit_limit_cents is not None:
            customer.credit_limit_cents = credit_limit_cents
        subject = _customer_subject(customer_id)
        if (customer.blocked, customer.credit_limit_cents) == before:
            return self._terms(customer, (await self._versions([subject])).get(subject, 0))
        version = await self._bump(subject)
        terms = self._terms(customer, version)
        limit = terms.customer.credit_limit
        data = CustomerTermsChangedV1(
            customer_id=customer_id,
            name=terms.customer.name,
            kind=terms.customer.kind,
            status=terms.customer.status,
            currency=terms.customer.currency,
            credit_limit=None if limit is None else limit.amount,
            price_list=terms.price_list,
        )
        await add_event(
            session=self.session, event=new_event(data=data, source=SOURCE, subject=subject, entity_version=version)
        )
        await self.session.flush()
        return terms

    async def announce_price_lists(self) -> None:
        """Every price list changed (an item's price or status did): a new version of each, announced."""
        await self.session.flush()
        for code in [p.code for p in await self.price_lists()]:
            subject = _price_list_subject(code)
            version = await self._bump(subject)
            await self.session.flush()
            (price_list,) = await self.price_lists([code])
            data = PriceListChangedV1(
                code=code,
                currency=price_list.currency,
                lines=[
                    PriceListLine(sku=line.sku, unit=line.unit, unit_price=line.unit_price.amount, status=line.status)
                    for line in price_list.lines
                ],
            )
            event = new_event(data=data, source=SOURCE, subject=subject, entity_version=version)
            await add_event(session=self.session, event=event)
        await self.session.flush()


__all__ = ["LIST_PRICES", "ReferenceMasterData"]
