"""Orders in a partner's own field dialect: mapped to the version 2 order with the partner's
stored field mapping (``dialect_mapping``), then taken in exactly as a version 2 order
(``service.submit_order``). Problems point at the partner's own fields.

The mappings are master data an operator sets (``partner_admin``), read per order from a
per-process cache for at most ``MAX_AGE`` seconds, like the partner directory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cachetools import TTLCache
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from experience_apis.marketplace import mapping_v2, service
from experience_apis.marketplace.clients import OrdersApi
from experience_apis.marketplace.dialect_mapping import CompiledMapping, MappedOrderInvalid, compile_mapping
from experience_apis.marketplace.intake_repository import IntakeKey
from experience_apis.marketplace.mapping import Dialect, Receipt
from experience_apis.marketplace.models import PartnerFieldMapping
from experience_apis.marketplace.repository import IntakeStore
from service_kit.errors import BusinessRuleViolation, UnprocessableContent

#: Seconds a partner's mapping is used without reading it again (a change shows within this).
MAX_AGE = 5.0


class MappingDirectory:
    """Partner id -> its compiled field mapping (None: it has none), kept ``max_age`` seconds."""

    def __init__(self, *, max_age: float = MAX_AGE, clock: Callable[[], float] = time.monotonic) -> None:
        self._held: TTLCache[str, CompiledMapping | None] = TTLCache(10_000, ttl=max_age, timer=clock)

    async def mapping(self, partner_id: str, *, conn: AsyncConnection) -> CompiledMapping | None:
        try:
            return self._held[partner_id]
        except KeyError:
            pass
        stored = await conn.scalar(
            select(PartnerFieldMapping.mapping).where(PartnerFieldMapping.partner_id == partner_id)
        )
        found = None if stored is None else compile_mapping(stored)
        self._held[partner_id] = found
        return found

    def forget(self) -> None:
        self._held.clear()


def _in_partner_fields(compiled: CompiledMapping, exc: UnprocessableContent) -> UnprocessableContent:
    errors = [{**e, "pointer": compiled.source_pointer(str(e.get("pointer", "#")))} for e in exc.errors or []]
    return type(exc)(exc.detail, errors=errors or None)


async def submit_order_in_dialect(
    *,
    store: IntakeStore,
    orders: OrdersApi,
    mappings: MappingDirectory,
    conn: AsyncConnection,
    partner_id: str,
    order: Any,
    key: IntakeKey,
) -> Receipt:
    compiled = await mappings.mapping(partner_id, conn=conn)
    if compiled is None:
        raise BusinessRuleViolation(
            "This partner has no field mapping of its own: submit version 2 orders at /marketplace/v2/orders, "
            "or ask the seller to onboard the partner with its mapping."
        )
    try:
        body = compiled.to_order(order)
    except MappedOrderInvalid as exc:
        pointers = ", ".join(e["pointer"] for e in exc.errors[:5])
        raise UnprocessableContent(f"Some fields of this order are not valid: {pointers}.", errors=exc.errors) from None
    try:
        submission = mapping_v2.to_submission(body)
    except UnprocessableContent as exc:
        raise _in_partner_fields(compiled, exc) from None
    dialect = Dialect(version="v2", pointer=lambda p: compiled.source_pointer(mapping_v2.to_dialect_pointer(p)))
    return await service.submit_order(
        store=store, orders=orders, partner_id=partner_id, submission=submission, dialect=dialect, key=key
    )


__all__ = ["MAX_AGE", "MappingDirectory", "submit_order_in_dialect"]
