"""Intake's view of the ERP's master data (customers, items), kept for a short while.

Intake validates every order against the ERP synchronously; during a burst that would spend the
ERP's call quota on the same few customers and items over and over. Found customers and items are
kept for ``master_data_ttl`` seconds (unknown ones are always asked again). The saga does not use
this cache: the ERP decides again when the order is priced and booked, so a customer blocked a
moment ago is refused there (and the order rejected with a reason).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from contracts import Customer, Product
from process_apis.orders.clients import ErpClient


class MasterData:
    def __init__(self, *, ttl: float) -> None:
        self.ttl = ttl
        self._customers: dict[str, tuple[float, Customer]] = {}
        self._products: dict[str, tuple[float, Product]] = {}

    async def customer(self, erp: ErpClient, customer_id: str) -> Customer | None:
        now = time.monotonic()
        hit = self._customers.get(customer_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        customer = await erp.get_customer(customer_id)
        if customer is not None and self.ttl > 0:
            self._customers[customer_id] = (now + self.ttl, customer)
        return customer

    async def products(self, erp: ErpClient, skus: Sequence[str]) -> dict[str, Product]:
        now = time.monotonic()
        found: dict[str, Product] = {}
        missing = []
        for sku in dict.fromkeys(skus):
            hit = self._products.get(sku)
            if hit is not None and hit[0] > now:
                found[sku] = hit[1]
            else:
                missing.append(sku)
        if missing:
            fresh = await erp.find_items(missing)
            if self.ttl > 0:
                self._products.update((sku, (now + self.ttl, product)) for sku, product in fresh.items())
            found.update(fresh)
        return found


class CachedErp:
    """The two intake lookups, through the cache."""

    def __init__(self, erp: ErpClient, cache: MasterData) -> None:
        self.erp, self.cache = erp, cache

    async def get_customer(self, customer_id: str) -> Customer | None:
        return await self.cache.customer(self.erp, customer_id)

    async def find_items(self, skus: Sequence[str]) -> dict[str, Product]:
        return await self.cache.products(self.erp, skus)


__all__ = ["CachedErp", "MasterData"]
