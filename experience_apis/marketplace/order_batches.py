"""Intake's orders handed to the orders API in batches: the orders that arrive while one call to
``POST /v1/order-batches`` is under way go in the next one (per partner: a call acts for one),
instead of a ``POST /v1/orders`` each.

Why: the hop cost more than the order. Per order, the call out was about a quarter of this
service's CPU (aiohttp, the kit's retry, breaker, pacer and token) and the orders service spent
about half of its own on the request around the order (server, middleware, token, routing),
bench/intake.py. A batch pays those once. On the kit's coalescer (``service_kit.coalesce``, as
the group commit is): neither aiohttp nor the kit's ``Upstream`` coalesces calls.

Every order keeps the answer the single call gives it: an entry's answer (the order accepted, or
the problem) is read by the single call's own reader, and its Idempotency-Key is the same key
(the orders API scopes and fingerprints it as on the single call). An order alone in its batch, an
entry whose answer is a 5xx (the single call words an upstream's failure: ``service_kit.http``),
and every order of a batch the orders API does not answer as one (an orders service without the
operation) are sent on their own, in their own request's context (its correlation id). A call
that fails (unreachable, a timeout, a 5xx of the whole batch) fails each of its orders as it
would have failed the order's own call: the partner's retry, under the same keys, replays what
was taken in.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

from contracts import OrderAccepted, OrderCreate
from service_kit.coalesce import Coalescer, Waiting
from service_kit.correlation import current_correlation_id
from service_kit.http import Upstream

BATCH_PATH = "/v1/order-batches"
#: The orders API's bound on a batch.
MAX_ENTRIES = 100

#: The same order sent on its own (``POST /v1/orders``).
Alone = Callable[[], Coroutine[Any, Any, OrderAccepted]]
#: The single call's reader of an answer: the order accepted, or the error its refusal stands for.
ReadAnswer = Callable[[httpx.Response], OrderAccepted]


@dataclass(slots=True)
class _Order:
    order: OrderCreate
    partner_id: str
    idempotency_key: str
    alone: Alone
    context: contextvars.Context  # the request's: a call made for this order alone carries its identity


_Pending = Waiting[_Order, OrderAccepted]


class OrderBatches:
    """One per process (``app.state``), on the orders API's ``Upstream``."""

    def __init__(self, orders: Upstream, *, read_answer: ReadAnswer, max_batch: int = MAX_ENTRIES) -> None:
        self._orders = orders
        self._read = read_answer
        # The batch task has a context of its own: the batch call has its own correlation id (each
        # entry carries its order's), not that of the request that happened to start the task.
        self._orders_queued: Coalescer[_Order, OrderAccepted] = Coalescer(
            self._batch, name="marketplace-order-batches", max_batch=max_batch, own_context=True
        )

    @property
    def max_batch(self) -> int:
        return self._orders_queued.max_batch

    @property
    def waiting(self) -> int:
        """Orders queued for the next batch."""
        return self._orders_queued.waiting

    async def submit(self, *, order: OrderCreate, partner_id: str, idempotency_key: str, alone: Alone) -> OrderAccepted:
        """The orders API's answer to ``order``, sent in the next batch (or ``alone()``)."""
        queued = _Order(order, partner_id, idempotency_key, alone, contextvars.copy_context())
        return await self._orders_queued.submit(queued)

    async def _batch(self, batch: list[_Pending]) -> None:
        by_partner: dict[str, list[_Pending]] = {}
        for pending in batch:
            by_partner.setdefault(pending.item.partner_id, []).append(pending)
        await asyncio.gather(*(self._send(partner_id, group) for partner_id, group in by_partner.items()))

    async def _send(self, partner_id: str, group: list[_Pending]) -> None:
        try:
            await self._forward(partner_id, group)
        except Exception as exc:  # a bug of ours, say: no order waits for ever
            for pending in group:
                pending.settle(exception=exc)

    async def _forward(self, partner_id: str, group: list[_Pending]) -> None:
        if len(group) == 1:
            await _each_alone(group)
            return
        entries = [
            {
                "idempotency_key": p.item.idempotency_key,
                "correlation_id": p.item.context.run(current_correlation_id) or None,
                "order": p.item.order.model_dump(mode="json", exclude_none=True),
            }
            for p in group
        ]
        try:
            resp = await self._orders.post(
                BATCH_PATH, json={"entries": entries}, partner_id=partner_id, retry_safe=True
            )
        except Exception as exc:  # the call failed: so would each order's own call have
            for pending in group:
                pending.settle(exception=exc)
            return
        results = _results(resp, len(group))
        if results is None:
            await _each_alone(group)
            return
        again = []
        for pending, result in zip(group, results, strict=True):
            if result["status"] >= 500:
                again.append(pending)
                continue
            try:
                pending.settle(result=self._read(_as_response(result)))
            except Exception as exc:
                pending.settle(exception=exc)
        await _each_alone(again)


def _results(resp: httpx.Response, expected: int) -> list[dict[str, Any]] | None:
    """The entries' answers, when the orders API answered the batch as one (one per entry)."""
    if resp.status_code != 200:
        return None
    try:
        results = resp.json().get("results")
    except (ValueError, AttributeError):
        return None
    if not isinstance(results, list) or len(results) != expected:
        return None
    if not all(isinstance(r, dict) and isinstance(r.get("status"), int) for r in results):
        return None
    return results


def _as_response(result: dict[str, Any]) -> httpx.Response:
    """An entry's answer as the single call's response: its status, body and Retry-After."""
    status: int = result["status"]
    if 200 <= status < 300:
        return httpx.Response(status, content=json.dumps(result.get("order")).encode())
    headers = {"content-type": "application/problem+json"}
    if retry_after := result.get("retry_after"):
        headers["Retry-After"] = str(retry_after)
    return httpx.Response(status, headers=headers, content=json.dumps(result.get("problem") or {}).encode())


async def _each_alone(group: list[_Pending]) -> None:
    if group:
        await asyncio.gather(*(_alone(pending) for pending in group))


async def _alone(pending: _Pending) -> None:
    try:
        pending.settle(result=await asyncio.create_task(pending.item.alone(), context=pending.item.context))
    except Exception as exc:
        pending.settle(exception=exc)


__all__ = ["BATCH_PATH", "MAX_ENTRIES", "OrderBatches"]
