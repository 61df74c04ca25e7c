"""The WMS's own problem: a reservation the stock of one warehouse cannot cover."""

from __future__ import annotations

from service_kit.errors import BusinessRuleViolation


class InsufficientStock(BusinessRuleViolation):
    """422 ``urn:interchange:problem:insufficient-stock``; ``errors`` names each short SKU."""

    slug, title = "insufficient-stock", "Not enough stock"
