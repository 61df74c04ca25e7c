"""The pivot in batches: every order due for its ERP sales order hands it to one ``PivotBatcher``,
which posts whatever has gathered as one batch call, then the next batch, and so on.

Group commit, not a timer: the first order posts at once (alone if alone); orders arriving while
a batch is in flight (or waiting for the ERP's pace) go together in the next one. Under load a
batch carries as many orders as arrived during one call, so ERP calls per order fall as load rises.
Hand-written (about forty lines): no maintained asyncio micro-batching library fits a call whose
entries each need their own answer, and the saga's crash safety lives outside it anyway.

Crash safety does not depend on it: an order is marked ``pivot_attempted`` (with its reservation)
before it is handed over, and each entry is idempotent by its external reference (the order id).
A worker killed between the post and recording the answers finds the order still at the pivot
when it comes back; posting it again answers the sales order booked the first time ("existing").
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import structlog

from contracts import MAX_SALES_ORDER_BATCH, SalesOrder, SalesOrderCreate
from process_apis.orders.clients import ErpClient
from service_kit.errors import UpstreamUnavailable

log = structlog.get_logger("process_apis.orders.pivot")


class PivotBatcher:
    def __init__(self, erp: Callable[[str], ErpClient], *, max_batch: int = MAX_SALES_ORDER_BATCH) -> None:
        """``erp(correlation_id)``: a client acting for no partner (a batch carries many partners'
        orders), under the batch's own correlation id, which the log ties to the orders in it."""
        self._erp = erp
        self.max_batch = max_batch
        self._queue: list[tuple[SalesOrderCreate, asyncio.Future[SalesOrder]]] = []
        self._drain: asyncio.Task[None] | None = None
        #: How many batch calls were made and entries posted (metrics and the benchmark read them).
        self.calls = 0
        self.entries = 0

    async def book(self, sales_order: SalesOrderCreate) -> SalesOrder:
        """The booked sales order; raises ``Refused`` (this entry refused), or the whole call's
        technical failure (``UpstreamUnavailable``, ``UpstreamThrottled``...)."""
        answer: asyncio.Future[SalesOrder] = asyncio.get_running_loop().create_future()
        self._queue.append((sales_order, answer))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.create_task(self._post_all(), name="orders-pivot-batches")
        return await answer

    async def _post_all(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            waiting = [(order, answer) for order, answer in batch if not answer.done()]
            if not waiting:
                continue
            self.calls += 1
            self.entries += len(waiting)
            correlation_id = uuid.uuid4().hex
            log.info(
                "pivot_batch_posted",
                correlation_id=correlation_id,
                orders=[order.external_reference for order, _ in waiting],
            )
            try:
                answers = await self._erp(correlation_id).book_sales_orders([order for order, _ in waiting])
            except BaseException as exc:  # the whole call failed: every order in it hears why
                for _, answer in waiting:
                    if not answer.done():
                        answer.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for order, answer in waiting:
                if answer.done():
                    continue
                outcome = answers.get(order.external_reference)
                if isinstance(outcome, SalesOrder):
                    answer.set_result(outcome)
                elif isinstance(outcome, Exception):
                    answer.set_exception(outcome)
                else:
                    answer.set_exception(
                        UpstreamUnavailable(f"The ERP's batch answer misses {order.external_reference}.")
                    )


__all__ = ["PivotBatcher"]
