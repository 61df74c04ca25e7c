"""The pivot in batches: every order due for its ERP sales order hands it to one ``PivotBatcher``
(a ``flows.batches.Batcher``), which posts whatever has gathered as one
``sales-order-batches`` call, then the next batch, and so on.

Crash safety does not depend on it: an order is marked ``pivot_attempted`` (with its reservation)
before it is handed over, and each entry is idempotent by its external reference (the order id).
A worker killed between the post and recording the answers finds the order still at the pivot
when it comes back; posting it again answers the sales order booked the first time ("existing").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from contracts import MAX_SALES_ORDER_BATCH, SalesOrder, SalesOrderCreate
from process_apis.orders.clients import ErpClient
from process_apis.orders.flows.batches import Batcher


class PivotBatcher(Batcher[SalesOrderCreate, SalesOrder]):
    def __init__(self, erp: Callable[[str], ErpClient], *, max_batch: int = MAX_SALES_ORDER_BATCH) -> None:
        """``erp(correlation_id)``: a client acting for no partner (a batch carries many partners'
        orders), under the batch's own correlation id, which the log ties to the orders in it."""

        async def post(correlation_id: str, orders: list[SalesOrderCreate]) -> Mapping[str, SalesOrder | Exception]:
            return await erp(correlation_id).book_sales_orders(orders)

        super().__init__(
            post, key=lambda order: order.external_reference, max_batch=max_batch, name="pivot", system="ERP"
        )

    async def book(self, sales_order: SalesOrderCreate) -> SalesOrder:
        """The booked sales order; raises ``Refused`` (this entry refused), or the whole call's
        technical failure (``UpstreamUnavailable``, ``UpstreamThrottled``...)."""
        return await self.submit(sales_order)


__all__ = ["PivotBatcher"]
