"""The reference ERP: persists in the service's database and maps its native shape (item numbers,
PCS, cents, price lists in basis points, numbered documents) to canonical objects and back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import (
    Customer,
    Money,
    Product,
    Quantity,
    SalesOrder,
    SalesOrderCreate,
    SalesOrderLineCreate,
)
from service_kit.errors import BusinessRuleViolation, Conflict
from system_apis.erp.backend.mapping import (
    _CANCELLED,
    _LINE_STEP,
    _OPEN,
    _STATUS_TO_CANONICAL,
    _UNIT_TO_CANONICAL,
    _UNIT_TO_NATIVE,
    _utc,
    cents,
    document_no,
    document_number,
    money,
    net_cents,
    to_customer,
    to_product,
)
from system_apis.erp.backend.reference_batches import ReferenceSalesOrderBatches
from system_apis.erp.backend.reference_billing import ReferenceBilling
from system_apis.erp.backend.reference_masterdata import ReferenceMasterData
from system_apis.erp.backend.reference_policy import ReferenceStockPolicies
from system_apis.erp.models import ErpCustomer, ErpItem, ErpPriceList, ErpSalesOrder, ErpSalesOrderLine


def to_sales_order(order: ErpSalesOrder, skus: dict[str, ErpItem]) -> SalesOrder:
    lines = [
        SalesOrderLineCreate(
            sku=skus[line.item_no].catalog_sku,
            quantity=Quantity.of(line.qty, _UNIT_TO_CANONICAL[skus[line.item_no].base_uom]),
            unit_price=money(line.unit_price_cents, order.currency),
        )
        for line in order.lines
    ]
    return SalesOrder(
        number=document_number(order.doc_no),
        external_reference=order.ext_ref,
        customer_id=order.customer_no,
        currency=order.currency,
        status=_STATUS_TO_CANONICAL[order.doc_status],
        lines=lines,
        total=money(sum(line.line_amount_cents for line in order.lines), order.currency),
        created_at=_utc(order.order_date),
    )


class ReferenceErpBackend(ReferenceStockPolicies, ReferenceMasterData, ReferenceSalesOrderBatches, ReferenceBilling):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _items_by_sku(self, skus: Sequence[str]) -> dict[str, ErpItem]:
        stmt = select(ErpItem).where(ErpItem.catalog_sku.in_(set(skus)))
        return {item.catalog_sku: item for item in (await self.session.execute(stmt)).scalars()}

    async def _items_by_number(self, item_nos: Sequence[str]) -> dict[str, ErpItem]:
        stmt = select(ErpItem).where(ErpItem.item_no.in_(set(item_nos)))
        return {item.item_no: item for item in (await self.session.execute(stmt)).scalars()}

    async def _canonical(self, order: ErpSalesOrder) -> SalesOrder:
        items = await self._items_by_number([line.item_no for line in order.lines])
        return to_sales_order(order, items)

    async def _document(self, number: str) -> ErpSalesOrder | None:
        doc_no = document_no(number)
        return None if doc_no is None else await self.session.get(ErpSalesOrder, doc_no)

    async def get_products(self, skus: Sequence[str]) -> list[Product]:
        items = await self._items_by_sku(skus)
        return [to_product(items[sku]) for sku in dict.fromkeys(skus) if sku in items]

    async def get_customer(self, customer_id: str) -> Customer | None:
        customer = await self.session.get(ErpCustomer, customer_id)
        return to_customer(customer) if customer else None

    async def net_unit_prices(self, *, customer_id: str, skus: Sequence[str]) -> dict[str, Money]:
        stmt = (
            select(ErpPriceList.discount_bp)
            .join(ErpCustomer, ErpCustomer.price_list_code == ErpPriceList.code)
            .where(ErpCustomer.customer_no == customer_id)
        )
        discount_bp = (await self.session.execute(stmt)).scalar_one_or_none() or 0
        items = await self._items_by_sku(skus)
        return {
            sku: money(net_cents(item.list_price_cents, discount_bp), item.price_currency)
            for sku, item in items.items()
        }

    async def get_sales_order(self, number: str) -> SalesOrder | None:
        order = await self._document(number)
        return await self._canonical(order) if order else None

    async def find_sales_order(self, external_reference: str) -> SalesOrder | None:
        stmt = select(ErpSalesOrder).where(ErpSalesOrder.ext_ref == external_reference)
        order = (await self.session.execute(stmt)).scalar_one_or_none()
        return await self._canonical(order) if order else None

    async def create_sales_order(self, order: SalesOrderCreate) -> SalesOrder:
        items = await self._items_by_sku([line.sku for line in order.lines])
        lines = []
        for index, line in enumerate(order.lines):
            item = items.get(line.sku)
            if item is None or _UNIT_TO_NATIVE.get(line.quantity.unit) != item.base_uom:
                raise BusinessRuleViolation(f"The ERP cannot book line {index} ({line.sku}, {line.quantity.unit}).")
            qty, unit_cents = int(line.quantity.amount), cents(line.unit_price)
            lines.append(
                ErpSalesOrderLine(
                    line_no=(index + 1) * _LINE_STEP,
                    item_no=item.item_no,
                    qty=qty,
                    unit_price_cents=unit_cents,
                    line_amount_cents=qty * unit_cents,
                )
            )
        document = ErpSalesOrder(
            ext_ref=order.external_reference,
            customer_no=order.customer_id,
            currency=order.currency,
            doc_status=_OPEN,
            ship_to_json=order.ship_to.model_dump_json() if order.ship_to else None,
            order_date=datetime.now(UTC),
            lines=lines,
        )
        self.session.add(document)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise Conflict(
                f"A sales order for external reference {order.external_reference!r} is being created by "
                "another request; send this one again to get it."
            ) from exc
        return to_sales_order(document, {item.item_no: item for item in items.values()})

    async def cancel_sales_order(self, number: str) -> SalesOrder | None:
        order = await self._document(number)
        if order is None:
            return None
        if order.doc_status != _CANCELLED:
            order.doc_status = _CANCELLED
            await self.session.flush()
        return await self._canonical(order)

    async def change_list_price(self, *, sku: str, list_price_cents: int) -> bool:
        item = await self.session.scalar(select(ErpItem).where(ErpItem.catalog_sku == sku))
        if item is None:
            return False
        item.list_price_cents = list_price_cents
        await self.session.flush()
        return True
