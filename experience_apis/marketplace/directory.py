"""Who the marketplace partners are and what their seller SKUs mean, kept in memory for a few
seconds: master data that every order reads and that changes rarely (set up by an operator, not
by a request), so intake does not read it from the database per order.

A change in the tables shows in at most ``max_age`` seconds. Each process keeps its own copy
(replicas included); nothing else is shared, so a stale entry only delays a new partner or listing
by that bound. Unknown partners and unlisted SKUs are remembered too, for the same time.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from cachetools import TTLCache

#: Seconds a partner account or listing read from the database is used without reading it again.
DEFAULT_MAX_AGE = 5.0
#: Entries kept at most (partners, and partner x seller SKU pairs); the oldest go first.
DEFAULT_MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class PartnerAccountRef:
    """A marketplace partner and the ERP account its orders bill to."""

    partner_id: str
    customer_id: str
    currency: str


class PartnerDirectory:
    def __init__(
        self,
        *,
        max_age: float = DEFAULT_MAX_AGE,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._accounts: TTLCache[str, PartnerAccountRef | None] = TTLCache(max_entries, ttl=max_age, timer=clock)
        self._listings: TTLCache[tuple[str, str], str | None] = TTLCache(max_entries, ttl=max_age, timer=clock)

    async def account(
        self, partner_id: str, *, read: Callable[[str], Awaitable[PartnerAccountRef | None]]
    ) -> PartnerAccountRef | None:
        """The partner's account (None: not a marketplace partner); ``read`` asks the database."""
        try:
            return self._accounts[partner_id]
        except KeyError:
            pass
        found = await read(partner_id)
        self._accounts[partner_id] = found
        return found

    async def listed_skus(
        self,
        partner_id: str,
        seller_skus: Iterable[str],
        *,
        read: Callable[[str, set[str]], Awaitable[dict[str, str]]],
    ) -> dict[str, str]:
        """Seller SKU -> canonical SKU for those of ``seller_skus`` the partner has listed; ``read``
        asks the database for the ones not held (one statement for all of them)."""
        found: dict[str, str] = {}
        missing: set[str] = set()
        for seller_sku in seller_skus:
            try:
                sku = self._listings[(partner_id, seller_sku)]
            except KeyError:
                missing.add(seller_sku)
                continue
            if sku is not None:
                found[seller_sku] = sku
        if missing:
            read_now = await read(partner_id, missing)
            for seller_sku in missing:
                self._listings[(partner_id, seller_sku)] = read_now.get(seller_sku)
            found |= read_now
        return found

    def forget(self) -> None:
        """Drop every entry: the next read goes to the database."""
        self._accounts.clear()
        self._listings.clear()


__all__ = ["DEFAULT_MAX_AGE", "PartnerAccountRef", "PartnerDirectory"]
